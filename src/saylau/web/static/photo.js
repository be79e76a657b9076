// A photo reduced on the phone before it waits in the outbox: the longest side at most
// MAX_SIDE pixels, re-encoded as JPEG. A protocol photo from a phone camera is 3-12 MB; the
// reduced one is a few hundred kB and still legible, which matters on a weak connection.

export const MAX_SIDE = 1600;
export const QUALITY = 0.85;

/**
 * Reduce an image file.
 * @param {Blob} file  what the camera input gave
 * @returns {Promise<{blob: Blob, reduced: boolean, width?: number, height?: number}>}
 *   `reduced` is false when the phone cannot read the file as a picture: the original is kept
 *   and the server, which checks every upload, will say why it refuses it.
 */
export async function reducePhoto(file, maxSide = MAX_SIDE, quality = QUALITY) {
  let bitmap;
  try {
    bitmap = await createImageBitmap(file);
  } catch {
    return { blob: file, reduced: false };
  }
  const scale = Math.min(1, maxSide / Math.max(bitmap.width, bitmap.height));
  const width = Math.max(1, Math.round(bitmap.width * scale));
  const height = Math.max(1, Math.round(bitmap.height * scale));
  const canvas = document.createElement("canvas");
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext("2d");
  ctx.fillStyle = "#fff"; // a transparent PNG becomes white, not black, as JPEG
  ctx.fillRect(0, 0, width, height);
  ctx.drawImage(bitmap, 0, 0, width, height);
  bitmap.close();
  const blob = await new Promise((resolve) => canvas.toBlob(resolve, "image/jpeg", quality));
  if (!blob) return { blob: file, reduced: false };
  return { blob, reduced: true, width, height };
}
