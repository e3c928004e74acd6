#!/usr/bin/python3
"""Writes tests/decoder/ngram-vectors.txt: expected n-gram bans (MODEL.md §8)
for hand-made and seeded random sequences, computed with restatements of the
two official procedures:

  vllm: DeepSeek-OCR2-vllm/process/ngram_norepeat.py, NoRepeatNGramLogitsProcessor
        .__call__ over the generated ids (window, whitelist {<td>, </td>});
  hf:   transformers NoRepeatNGramLogitsProcessor (_calc_banned_ngram_tokens)
        with cur_len = len(seq): every n-gram of the whole sequence.

The loops below follow the official code statement by statement (including
Python's slice semantics, which make the vLLM variant ban nothing for n = 1).

Format, one case per line, integers separated by spaces:
    n window n_white white... len seq... n_banned banned...(ascending)
window 0 marks the hf variant.

    /usr/bin/python3 tests/decoder/make-ngram-vectors.py > tests/decoder/ngram-vectors.txt
"""
import random

WHITELIST = [128821, 128822]  # <td>, </td>: the official scripts' whitelist


def vllm_banned(input_ids, ngram_size, window_size, whitelist):
	if len(input_ids) < ngram_size:
		return set()
	current_prefix = tuple(input_ids[-(ngram_size - 1):])
	search_start = max(0, len(input_ids) - window_size)
	search_end = len(input_ids) - ngram_size + 1
	banned = set()
	for i in range(search_start, search_end):
		ngram = tuple(input_ids[i:i + ngram_size])
		if ngram[:-1] == current_prefix:
			banned.add(ngram[-1])
	return banned - set(whitelist)


def hf_banned(gen_tokens, ngram_size):
	cur_len = len(gen_tokens)
	if cur_len + 1 < ngram_size:
		return set()
	generated_ngram = {}
	for ngram in zip(*[gen_tokens[i:] for i in range(ngram_size)]):
		prev = tuple(ngram[:-1])
		generated_ngram[prev] = generated_ngram.get(prev, []) + [ngram[-1]]
	start_idx = cur_len + 1 - ngram_size
	return set(generated_ngram.get(tuple(gen_tokens[start_idx:cur_len]), []))


def cases():
	td, etd = WHITELIST
	hand = [
		[],
		[5],
		[5, 5],
		[5, 5, 5],
		[1, 2, 3, 1, 2],
		[1, 2, 3, 1, 2, 4, 1, 2],
		[7, 7, 7, 7, 7, 7, 7, 7],
		[td, 9, etd, td, 9, etd, td, 9],
		[td, 3, td, 4, td, 5, td],
		[3, td, 3, etd, 3],
		[10, 20, 30, 40, 50, 10, 20, 30, 40],
		list(range(30)) + list(range(25)),
		[1, 2] * 60,
		[4, 5, 6] * 40 + [4, 5],
		[0, 128815, 128815, 128815, 128815, 201, 128815, 128815, 128815],
	]
	params = [(1, 5), (2, 5), (2, 90), (3, 3), (3, 4), (3, 90), (5, 50), (20, 50), (20, 90),
		  (30, 90), (40, 90)]
	for seq in hand:
		for n, w in params:
			yield n, w, seq
			yield n, 0, seq
	rng = random.Random(20260123)
	for _ in range(300):
		alpha = rng.choice([2, 3, 4, 8, 50])
		pool = [rng.randrange(0, 129280) for _ in range(alpha)]
		if rng.random() < 0.3:
			pool[0] = td
		if rng.random() < 0.3:
			pool[-1] = etd
		length = rng.randrange(0, 260)
		if rng.random() < 0.5:
			period = rng.randrange(1, 45)
			base = [rng.choice(pool) for _ in range(period)]
			seq = [base[i % period] for i in range(length)]
			for _ in range(rng.randrange(0, 4)):  # a few mutations
				if seq:
					seq[rng.randrange(len(seq))] = rng.choice(pool)
		else:
			seq = [rng.choice(pool) for _ in range(length)]
		n = rng.choice([1, 2, 3, 4, 6, 20, 35, 40])
		w = rng.choice([0, 0, 1, 10, 50, 90, 300])
		yield n, w, seq


def main():
	for n, w, seq in cases():
		if w == 0:
			b, white = hf_banned(list(seq), n), []
		else:
			b, white = vllm_banned(list(seq), n, w, WHITELIST), WHITELIST
		out = [n, w, len(white)] + white + [len(seq)] + list(seq) + [len(b)] + sorted(b)
		print(" ".join(str(x) for x in out))


if __name__ == "__main__":
	main()
