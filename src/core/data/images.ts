import * as fs from 'node:fs';
import * as path from 'node:path';
import sharp from 'sharp';
import { PruneLensError } from '../errors.js';
import { MAX_DATA_FILE_BYTES } from '../limits.js';
import { isRegularFile, readRegular } from '../util/files.js';
import { assertSamplesFit } from './budget.js';
import { choose } from './choose.js';
import { normalise, type ImagePreprocess } from './preprocess.js';

const IMAGE = /\.(png|jpe?g|webp|bmp|tiff?|gif)$/i;

export interface ImageFolder {
  data: Float32Array;
  dims: number[];
  count: number;
  labels?: Int32Array;
  classes?: string[];
}

/**
 * A folder of images, labelled by sub-folder name when every image sits in a sub-folder (ImageNet layout), with
 * the model's preprocessing. Only the chosen samples are decoded; unreadable files are named before compute.
 */
export async function loadImageFolder(
  dir: string,
  sampleDims: number[],
  pre: ImagePreprocess,
  opts: { samples: number; seed: number },
): Promise<ImageFolder> {
  const top = fs.readdirSync(dir, { withFileTypes: true });
  const subdirs = top.filter((e) => e.isDirectory()).map((e) => e.name).sort();
  // regular files only (symlinks followed): a FIFO or a device named .png would block its read for ever
  const images = (d: string) => fs.readdirSync(d).filter((f) => IMAGE.test(f) && isRegularFile(path.join(d, f))).sort();
  const flat = images(dir).map((f) => path.join(dir, f));
  let files: { file: string; label?: number }[];
  let classes: string[] | undefined;
  if (flat.length === 0 && subdirs.length > 0) {
    classes = subdirs;
    files = subdirs.flatMap((c, label) => images(path.join(dir, c)).map((f) => ({ file: path.join(dir, c, f), label })));
  } else {
    files = flat.map((file) => ({ file }));
  }
  if (files.length === 0) throw new PruneLensError(`${dir}: no images (.png, .jpg, .webp, …) found`, { option: 'data' });
  const chosen = choose(files.length, opts.samples, opts.seed).map((i) => files[i]);

  const layout = pre.layout ?? (sampleDims.length === 3 && [1, 3].includes(sampleDims[2]) && ![1, 3].includes(sampleDims[0]) ? 'nhwc' : 'nchw');
  if (sampleDims.length !== 3) throw new PruneLensError(`image data needs an input of rank 4, this one takes ${sampleDims.join('x')} per sample`);
  const [c, h, w] = layout === 'nchw' ? sampleDims : [sampleDims[2], sampleDims[0], sampleDims[1]];
  if (c !== 1 && c !== 3) throw new PruneLensError(`image data needs 1 or 3 input channels, the model takes ${c}`);
  const [ch, cw] = pre.crop ?? [h, w];
  if (ch !== h || cw !== w) throw new PruneLensError(`crop ${ch}x${cw} does not match the model's input ${h}x${w}`, { option: 'preprocess' });
  const per = c * h * w;
  assertSamplesFit(chosen.length, sampleDims);
  const data = new Float32Array(chosen.length * per);
  for (const [i, { file }] of chosen.entries()) {
    let raw: Buffer;
    const bytes = readRegular(file, { option: 'data', what: 'image', maxBytes: MAX_DATA_FILE_BYTES });
    try {
      let img = sharp(bytes).rotate().removeAlpha();
      img = c === 1 ? img.grayscale() : img.toColourspace('srgb');
      if (pre.resize === undefined) {
        // scale to cover h×w (aspect kept), then the centre crop
        raw = await img.resize(w, h, { fit: 'cover', position: 'centre' }).raw().toBuffer();
      } else {
        // shorter side to `resize`, then the centre crop
        const resized = await img.resize(pre.resize, pre.resize, { fit: 'outside' }).raw().toBuffer({ resolveWithObject: true });
        const { width, height, channels } = resized.info;
        if (width < w || height < h) throw new PruneLensError(`${file}: resize=${pre.resize} makes it ${width}x${height}, smaller than the ${w}x${h} crop`);
        raw = await sharp(resized.data, { raw: { width, height, channels } })
          .extract({ left: Math.floor((width - w) / 2), top: Math.floor((height - h) / 2), width: w, height: h })
          .raw()
          .toBuffer();
      }
    } catch (e) {
      if (e instanceof PruneLensError) throw e;
      throw new PruneLensError(`${file}: cannot read as an image (${(e as Error).message.split('\n')[0]})`);
    }
    const out = data.subarray(i * per, (i + 1) * per);
    for (let p = 0; p < h * w; p++) {
      for (let k = 0; k < c; k++) {
        const src = raw[p * c + (pre.order === 'bgr' && c === 3 ? 2 - k : k)];
        out[layout === 'nchw' ? k * h * w + p : p * c + k] = normalise(src, k, pre);
      }
    }
  }
  return {
    data,
    dims: sampleDims,
    count: chosen.length,
    labels: classes ? Int32Array.from(chosen, (f) => f.label!) : undefined,
    classes,
  };
}
