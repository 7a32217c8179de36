import jpeg from 'jpeg-js';
import jsqr from 'jsqr';
import { PNG } from 'pngjs';

/**
 * QR codes in images ("quishing"): a lure that carries its link as a picture, so that URL filters and the
 * reader's mouse-over never see it and the victim opens it on an unmanaged phone. The analysis decodes
 * PNG and JPEG images (attachments and inline parts) and treats what a code says like any other link.
 *
 * Images are attacker-controlled input: the size is checked from the header before anything is
 * decompressed (a 1 KB PNG can claim 50,000 × 50,000 pixels), decoding runs under pixel and memory caps,
 * and a message gets at most `maxImages` decode attempts however many images it carries.
 */
export interface QrLimits {
  /** Largest image decoded, in pixels (width × height). */
  maxPixels: number;
  /** Decode attempts per message. */
  maxImages: number;
  /** Time per message after which no further image is decoded (one decode cannot be interrupted). */
  maxMs: number;
}

export const DEFAULT_QR_LIMITS: QrLimits = { maxPixels: 4_000_000, maxImages: 6, maxMs: 2000 };

/** Larger images are shrunk to this side first: a code a phone can read survives it, and decoding costs less. */
const DECODE_MAX_SIDE = 1000;
/**
 * Above this share of light/dark changes between neighbouring pixels an image is texture or noise, not a
 * code: a code's modules are several pixels wide (a share under 0.2), while noise (near 0.5) is the worst
 * case for the decoder's finder-pattern search (seconds per image), so it is skipped instead.
 */
const MAX_TRANSITION_SHARE = 0.3;

interface Pixels {
  data: Uint8ClampedArray;
  width: number;
  height: number;
}

/** Box-filters an RGBA image down by a whole factor so that neither side exceeds `maxSide`. */
function shrink(image: Pixels, maxSide: number): Pixels {
  const factor = Math.ceil(Math.max(image.width, image.height) / maxSide);
  if (factor <= 1) return image;
  const width = Math.floor(image.width / factor);
  const height = Math.floor(image.height / factor);
  const data = new Uint8ClampedArray(width * height * 4);
  const area = factor * factor;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      for (let channel = 0; channel < 4; channel++) {
        let sum = 0;
        for (let dy = 0; dy < factor; dy++)
          for (let dx = 0; dx < factor; dx++) sum += image.data[((y * factor + dy) * image.width + x * factor + dx) * 4 + channel] ?? 0;
        data[(y * width + x) * 4 + channel] = sum / area;
      }
  return { data, width, height };
}

/** Share of horizontally adjacent pixel pairs (every fourth row) on opposite sides of the mean brightness. */
function transitionShare(image: Pixels): number {
  const luma = (i: number) => (image.data[i] ?? 0) * 0.299 + (image.data[i + 1] ?? 0) * 0.587 + (image.data[i + 2] ?? 0) * 0.114;
  let total = 0;
  let count = 0;
  for (let y = 0; y < image.height; y += 4)
    for (let x = 0; x < image.width; x++) {
      total += luma((y * image.width + x) * 4);
      count++;
    }
  const mean = total / Math.max(1, count);
  let changes = 0;
  let pairs = 0;
  for (let y = 0; y < image.height; y += 4) {
    let previous = luma(y * image.width * 4) > mean;
    for (let x = 1; x < image.width; x++) {
      const dark = luma((y * image.width + x) * 4) > mean;
      if (dark !== previous) changes++;
      previous = dark;
      pairs++;
    }
  }
  return changes / Math.max(1, pairs);
}

export type QrResult = { found: true; text: string } | { found: false; skipped?: string };

const PNG_SIGNATURE = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

/** Width and height from a PNG's IHDR chunk, without decompressing anything. */
function pngDimensions(bytes: Uint8Array): { width: number; height: number } | undefined {
  if (bytes.length < 24 || PNG_SIGNATURE.some((b, i) => bytes[i] !== b)) return undefined;
  if (String.fromCharCode(bytes[12] ?? 0, bytes[13] ?? 0, bytes[14] ?? 0, bytes[15] ?? 0) !== 'IHDR') return undefined;
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return { width: view.getUint32(16), height: view.getUint32(20) };
}

function decodePixels(bytes: Uint8Array, type: 'png' | 'jpeg', maxPixels: number): Pixels | string {
  if (type === 'png') {
    const size = pngDimensions(bytes);
    if (!size) return 'not a readable PNG';
    if (size.width * size.height > maxPixels) return `${size.width}×${size.height} is larger than the ${maxPixels.toLocaleString('en')}-pixel limit`;
    const image = PNG.sync.read(Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength));
    return { data: new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength), width: image.width, height: image.height };
  }
  const image = jpeg.decode(bytes, {
    useTArray: true,
    formatAsRGBA: true,
    tolerantDecoding: true,
    maxResolutionInMP: maxPixels / 1_000_000,
    maxMemoryUsageInMB: Math.ceil((maxPixels * 4 * 2) / 1_000_000),
  });
  return { data: new Uint8ClampedArray(image.data.buffer, image.data.byteOffset, image.data.byteLength), width: image.width, height: image.height };
}

/** The text of a QR code in a PNG or JPEG image, if there is one. Never throws: a broken image is "no code". */
export function qrCodeIn(bytes: Uint8Array, type: 'png' | 'jpeg', limits: QrLimits = DEFAULT_QR_LIMITS): QrResult {
  let pixels: ReturnType<typeof decodePixels>;
  try {
    pixels = decodePixels(bytes, type, limits.maxPixels);
  } catch (error) {
    return { found: false, skipped: `the image does not decode (${(error as Error).message.slice(0, 120)})` };
  }
  if (typeof pixels === 'string') return { found: false, skipped: pixels };
  if (pixels.width === 0 || pixels.height === 0 || pixels.data.length < pixels.width * pixels.height * 4)
    return { found: false, skipped: 'the image is empty' };
  pixels = shrink(pixels, DECODE_MAX_SIDE);
  const share = transitionShare(pixels);
  if (share > MAX_TRANSITION_SHARE) return { found: false, skipped: `the image is too busy to hold a readable code (${Math.round(share * 100)}% transitions)` };
  // Lures invert codes (light on dark) to slip past scanners that only try one way round.
  // jsqr is CommonJS whose exports carry `default`; reaching for it works at run time and in the types.
  const code = jsqr.default(pixels.data, pixels.width, pixels.height, { inversionAttempts: 'attemptBoth' });
  if (!code || code.data.trim() === '') return { found: false };
  return { found: true, text: code.data.trim().slice(0, 4096) };
}
