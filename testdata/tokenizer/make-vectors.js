#!/usr/bin/env node
// make-vectors.js - writes tokenizer test vectors with Hugging Face
// `tokenizers` (the npm package, a native binding of the Rust library).
//
// usage: node make-vectors.js [--module DIR] [--set main|unicode14|flags] TOKENIZER_JSON OUT
//
//   --module DIR  where the `tokenizers` package is (default: require('tokenizers'))
//   --set main    (default) corpus.jsonl + seeded random strings + decode
//                 vectors; made with the newest tokenizers (0.23.2):
//                   TOK=$(mktemp -d) && (cd "$TOK" && npm install tokenizers@0.23.2)
//                   node make-vectors.js --module "$TOK/node_modules/tokenizers" \
//                     ../cache/tokenizer.json vectors.jsonl
//   --set unicode14  strings with code points assigned after Unicode 14.0,
//                 and strings of uniformly random code points.
//                 tokenizers 0.20.3 (the official environment) matches with
//                 Oniguruma 6.9.8 = Unicode 14.0; tokenizers >= 0.21.2 bundles
//                 Oniguruma 6.9.10 = Unicode 16.0 and splits these differently.
//                 Made with the last npm binding built on Oniguruma 6.9.8:
//                   npm install tokenizers@0.13.3 && \
//                   npm install --no-save tokenizers-linux-x64-gnu@0.13.4-rc2
//   --set flags   the tokenizer with the added-token flags lstrip, rstrip,
//                 single_word and normalized set on some tokens (the file has
//                 none): flags.json lists [from, to] text replacements that
//                 both this script and the C test apply to tokenizer.json.
//
// TOKENIZER_JSON is testdata/cache/tokenizer.json (bash testdata/fetch.sh).
// Output: JSON lines. The first is {"meta": {...}}; then
//   {"text": T, "ids": [...]}      encode(T) without special tokens added
//   {"ids": [...], "decoded": T}   decode(ids) with special tokens kept
// The main set's random strings only use code points whose classes are the
// same in Unicode 14.0 and 16.0, so both tokenizers versions agree on them.
'use strict';
const fs = require('fs');
const path = require('path');
const crypto = require('crypto');

function usage() {
	process.stderr.write('usage: node make-vectors.js [--module DIR] [--set main|unicode14|flags] TOKENIZER_JSON OUT\n');
	process.exit(2);
}

let modDir = 'tokenizers', set = 'main';
const pos = [];
const argv = process.argv.slice(2);
for (let i = 0; i < argv.length; i++) {
	if (argv[i] === '--module') modDir = path.resolve(argv[++i] || usage());
	else if (argv[i] === '--set') set = argv[++i] || usage();
	else pos.push(argv[i]);
}
if (pos.length !== 2 || !['main', 'unicode14', 'flags'].includes(set)) usage();
const [tokPath, outPath] = pos;
const tk = require(modDir);
let tok;
if (set === 'flags') {
	let json = fs.readFileSync(tokPath, 'utf8');
	for (const [from, to] of JSON.parse(fs.readFileSync(path.join(__dirname, 'flags.json'), 'utf8'))) {
		if (!json.includes(from)) throw new Error('tokenizer.json has no ' + from);
		json = json.replace(from, to);
	}
	tok = tk.Tokenizer.fromString(json);
} else {
	tok = tk.Tokenizer.fromFile(tokPath);
}
const pkgVersion = (dir) => JSON.parse(fs.readFileSync(path.join(dir, 'package.json'), 'utf8')).version;
let version = pkgVersion(path.dirname(require.resolve(modDir)));
try { // 0.13.x loads its native code from a separate package
	const nat = path.join(path.dirname(require.resolve(modDir)), '..', 'tokenizers-linux-x64-gnu');
	if (fs.existsSync(nat)) version += ' (native ' + pkgVersion(nat) + ')';
} catch (e) { /* none */ }

// Both binding generations: 0.23 returns promises; 0.13 takes callbacks.
function encode(s) {
	return new Promise((res, rej) => {
		const cb = (err, r) => (err ? rej(err) : res(r));
		const p = tok.encode(s, null, {addSpecialTokens: false}, cb);
		if (p && p.then) p.then(res, rej);
	}).then((e) => e.getIds());
}
function decode(ids) {
	return new Promise((res, rej) => {
		const cb = (err, r) => (err ? rej(err) : res(r));
		const p = tok.decode(ids, false, cb);
		if (p && p.then) p.then(res, rej);
		else if (typeof p === 'string') res(p);
	});
}

// mulberry32: a small seeded generator, so the strings are reproducible.
let seed = 0x0c72;
function rnd() {
	seed = (seed + 0x6D2B79F5) | 0;
	let t = seed;
	t = Math.imul(t ^ (t >>> 15), t | 1);
	t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
	return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
}
const pick = (a) => a[Math.floor(rnd() * a.length)];
const int = (lo, hi) => lo + Math.floor(rnd() * (hi - lo + 1));
const fromRanges = (ranges) => () => {
	const [lo, hi] = pick(ranges);
	return String.fromCodePoint(int(lo, hi));
};

// Code point pools, all assigned (or unassigned) alike in Unicode 14.0 and 16.0.
const pools = {
	ascii: fromRanges([[0x61, 0x7a], [0x41, 0x5a]]),
	latin: fromRanges([[0xc0, 0xff], [0x100, 0x17f], [0x180, 0x24f], [0x250, 0x2af]]),
	greek: fromRanges([[0x391, 0x3a1], [0x3a3, 0x3a9], [0x3b1, 0x3c9], [0x1f00, 0x1f15]]),
	cyrillic: fromRanges([[0x400, 0x4ff]]),
	arabic: fromRanges([[0x621, 0x64a], [0x64b, 0x652], [0x660, 0x669], [0x6f0, 0x6f9]]),
	hebrew: fromRanges([[0x5d0, 0x5ea], [0x5b0, 0x5bd]]),
	devanagari: fromRanges([[0x905, 0x939], [0x93e, 0x94d], [0x966, 0x96f]]),
	thai: fromRanges([[0xe01, 0xe30], [0xe31, 0xe3a], [0xe50, 0xe59]]),
	hangul: fromRanges([[0xac00, 0xd7a3], [0x1100, 0x1112], [0x3131, 0x318e]]),
	han: fromRanges([[0x4e00, 0x9fa5], [0x9fa6, 0x9fef], [0x3400, 0x4db5], [0x20000, 0x2a6d6], [0xf900, 0xfa2d]]),
	kana: fromRanges([[0x3041, 0x3096], [0x3099, 0x309f], [0x30a0, 0x30ff], [0xff61, 0xff9f], [0x31f0, 0x31ff]]),
	fullwidth: fromRanges([[0xff01, 0xff5e], [0x3001, 0x303f]]),
	combining: fromRanges([[0x300, 0x36f], [0x20d0, 0x20f0], [0x483, 0x489], [0xfe20, 0xfe2f]]),
	digit: fromRanges([[0x30, 0x39]]),
	number: fromRanges([[0xb2, 0xb3], [0xb9, 0xb9], [0xbc, 0xbe], [0x2160, 0x2188], [0x2460, 0x249b],
		[0xff10, 0xff19], [0x1d7ce, 0x1d7ff], [0x660, 0x669], [0x966, 0x96f], [0x3007, 0x3007]]),
	punct: fromRanges([[0x21, 0x2f], [0x3a, 0x40], [0x5b, 0x60], [0x7b, 0x7e], [0xa1, 0xbf],
		[0x2010, 0x2027], [0x2030, 0x205e], [0x3001, 0x3003], [0x300c, 0x300f]]),
	symbol: fromRanges([[0x20a0, 0x20bf], [0x2190, 0x21ff], [0x2200, 0x22ff], [0x2500, 0x257f],
		[0x25a0, 0x25ff], [0x2600, 0x26ff], [0x2700, 0x27bf], [0x2100, 0x214f]]),
	emoji: fromRanges([[0x1f300, 0x1f5ff], [0x1f600, 0x1f64f], [0x1f680, 0x1f6c5], [0x1f900, 0x1f9ff]]),
	space: () => pick([' ', ' ', ' ', '  ', '\t', '\n', '\n', '\r\n', '\r', '\n\n', '\u00a0', '\u3000',
		'\u2002', '\u2009', '\u200a', '\u2028', '\u2029', '\u0085', '\u000b', '\u000c', '\u1680',
		'\u202f', '\u205f', ' \n', '\n ', '   ']),
	other: () => pick(['\u0000', '\u0001', '\u001b', '\u007f', '\u0080', '\u009f', '\u00ad', '\u200b',
		'\u200c', '\u200d', '\u200e', '\u2060', '\ufeff', '\u180e', '\ue000', '\uf8ff', '\u0378',
		'\ufffe', '\ufffd', '\u{e0067}', '\u{f0000}', '\u{10fffd}', '\u0600', '\u06dd']),
};
const words = ['the', 'The', 'of', 'and', 'document', 'markdown', 'Convert', 'OCR', 'table',
	'figure', 'Table 1', 'Fig.', 'e.g.', 'i.e.', "don't", "it's", 'x', 'I', 'a', 'A', 'mm',
	'kg/m²', 'H₂O', 'CO2', 'pH', 'naïve', 'Москва', 'Ελλάδα', '東京', 'ソフトウェア', '数据',
	'서울', 'مرحبا', 'שלום', 'नमस्ते', 'สวัสดี', 'printf', 'return', 'int', 'def', 'self',
	'\\frac', '\\alpha', '\\mathbf{x}', '$x$', '$$', '&nbsp;', '<br>', '<p>', '</p>', '<th>',
	'http://a.b/c', 'foo_bar', 'fooBar', 'FOO', '__init__', '...', '--', '—', '“', '”', '«', '»'];
const specials = ['<image>', '<|ref|>', '<|/ref|>', '<|det|>', '<|/det|>', '<|grounding|>',
	'<td>', '</td>', '<tr>', '</tr>', '<|User|>', '<|Assistant|>', '<｜begin▁of▁sentence｜>',
	'<｜end▁of▁sentence｜>', '<｜▁pad▁｜>', '<｜User｜>', '<｜Assistant｜>', '<|EOT|>',
	'<｜fim▁hole｜>', '<｜tool▁sep｜>', '<｜place▁holder▁no▁17｜>', '<image', 'image>', '<|ref',
	'<t', '<td', '</', '<|', '|>', '<｜', '▁', '｜'];
const emojiSeq = ['👍🏽', '👩‍💻', '👨‍👩‍👧‍👦', '🏳️‍🌈', '🇫🇷', '🇯🇵', '❤️', '#️⃣', '1️⃣', '🧑🏿‍🤝‍🧑🏻', '🏴󠁧󠁢󠁳󠁣󠁴󠁿'];

function fragment() {
	const r = rnd();
	if (r < 0.45) {
		const names = Object.keys(pools);
		const p = pools[pick(names)];
		let s = '';
		for (let n = int(1, 8); n > 0; n--) s += p();
		return s;
	}
	if (r < 0.65) return pick(words);
	if (r < 0.75) return pick(specials);
	if (r < 0.82) return pick(emojiSeq);
	if (r < 0.9) {
		let s = '';
		for (let n = int(1, 10); n > 0; n--) s += String(int(0, 9));
		return s;
	}
	if (r < 0.95) return '<|ref|>' + pick(words) + '<|/ref|><|det|>[[' +
		[int(0, 999), int(0, 999), int(0, 999), int(0, 999)].join(', ') + ']]<|/det|>' + pick(['\n', '', ' ']);
	return pick(['<table>', '<tr>', '<td>', '</td>', '</tr>', '</table>', '<td>' + pick(words) + '</td>']);
}

function randomString() {
	let s = '';
	for (let n = int(1, 12); n > 0; n--) {
		s += fragment();
		if (rnd() < 0.5) s += pools.space();
	}
	return s;
}

// Code points assigned after Unicode 14.0, in several classes (letters, marks,
// digits, punctuation, symbols): Unicode 15.0, 15.1 and 16.0 additions.
const NEW_CPS = [0x0cf3, 0x0ece, 0x11f04, 0x11f41, 0x11f50, 0x1e030, 0x1e08f, 0x31350, 0x2ebf0,
	0x1fa7b, 0x1f6dc, 0x1f774, 0x0897, 0x1c89, 0x1b4e, 0x1b7f, 0x2427, 0x2fff, 0x10d40, 0x10d4a,
	0x16d40, 0x1e5d0, 0x1e5f1, 0x1cc00, 0x1ccf0, 0x31c0 + 0x24, 0xa7cb, 0x10ec5, 0x116d0];

async function main() {
	const lines = [];
	const meta = {tokenizers: version, set, vocab_size: tok.getVocabSize(true),
		tokenizer_sha256: crypto.createHash('sha256').update(fs.readFileSync(tokPath)).digest('hex')};
	lines.push(JSON.stringify({meta}));
	const texts = [];
	if (set === 'main') {
		const corpus = path.join(__dirname, 'corpus.jsonl');
		for (const l of fs.readFileSync(corpus, 'utf8').split('\n'))
			if (l.trim()) texts.push(JSON.parse(l));
		for (let i = 0; i < 3000; i++) texts.push(randomString());
	} else if (set === 'flags') {
		const toks = ['<|ref|>', '<|/ref|>', '<td>', '</td>', '<tr>', '<image>', '<|det|>', '<|/det|>',
			'<|ref', 'qzxw', 'δδ', '<|grounding|>'];
		const around = ['', ' ', '  ', '\t', '\n', ' \n ', '\u00a0', '\u3000', 'a', 'é', '_', '1', '!',
			'x ', ' y', 'abc', '日', '\u0301', '\u200d', 'Ⓐ', 'ⅻ', '²', 'qzxw', '<|ref', '|>'];
		for (const t of toks)
			for (const a of around)
				for (const b of ['', ' ', 'a', ' b ', '\n', '  x', '!', '_'])
					texts.push(a + t + b);
		for (let i = 0; i < 600; i++) {
			let s = '';
			for (let n = int(1, 8); n > 0; n--) s += rnd() < 0.5 ? pick(toks) : pick(around);
			texts.push(s);
		}
	} else {
		for (const cp of NEW_CPS) {
			const c = String.fromCodePoint(cp);
			for (const t of ['a' + c, c + 'a', ' ' + c, c + ' ', '!' + c, c + '!', '1' + c + '2', c + c, 'x' + c + 'y z'])
				texts.push(t);
		}
		// any scalar value at all, assigned or not, among letters and spaces
		for (let i = 0; i < 1000; i++) {
			let s = '';
			for (let n = int(1, 20); n > 0; n--) {
				if (rnd() < 0.5) {
					s += pick([' ', 'a', '\n', '!', '1', 'é', '日']);
				} else {
					let cp;
					do cp = int(0, 0x10ffff); while (cp >= 0xd800 && cp < 0xe000);
					s += String.fromCodePoint(cp);
				}
			}
			texts.push(s);
		}
	}
	for (const t of texts) lines.push(JSON.stringify({text: t, ids: await encode(t)}));
	if (set === 'main') {
		// decode vectors: random ids (any vocabulary or added id), single
		// bytes that make invalid UTF-8, and cuts through encoded strings
		const vocabSize = tok.getVocabSize(true);
		const single = Object.entries(tok.getVocab(false)).filter(([k]) => [...k].length === 1).map(([, v]) => v).sort((a, b) => a - b);
		for (let i = 0; i < 400; i++) {
			let ids = [];
			const r = rnd();
			if (r < 0.3) {
				for (let n = int(1, 20); n > 0; n--) ids.push(int(0, vocabSize - 1));
			} else if (r < 0.6) {
				for (let n = int(1, 12); n > 0; n--) ids.push(rnd() < 0.7 ? pick(single) : int(0, vocabSize - 1));
			} else {
				const full = await encode(randomString());
				const a = int(0, full.length), b = int(a, full.length);
				ids = full.slice(a, b);
			}
			lines.push(JSON.stringify({ids, decoded: await decode(ids)}));
		}
	}
	fs.writeFileSync(outPath, lines.join('\n') + '\n');
	process.stderr.write(`${outPath}: ${lines.length - 1} vectors, tokenizers ${version}\n`);
}

main().catch((e) => {
	process.stderr.write(`make-vectors.js: ${e.stack || e}\n`);
	process.exit(1);
});
