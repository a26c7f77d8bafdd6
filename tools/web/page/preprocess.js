// MNIST's preprocessing of a drawing: the ink's bounding box is scaled (aspect kept, box-filtered, so
// anti-aliased) to fit a 20x20 box, put in a 28x28 field and moved so that its centre of mass falls on
// pixel (14, 14), as LeCun et al. prepared MNIST. Ink is a value in [0, 1] per pixel (0 blank, 1 black).

const FIELD = 28;
const BOX = 20;
const CENTRE = 14;  // MNIST's test digits have their centre of mass at 14.0 (row and column index) on average

// Area-averaging weights from n_in source samples to n_out target samples over the same span:
// weights[i] lists [j, w] with the share w of target sample i that source sample j covers.
function boxWeights(nIn, nOut) {
  const scale = nIn / nOut;
  const weights = [];
  for (let i = 0; i < nOut; i++) {
    const from = i * scale, to = (i + 1) * scale;
    const row = [];
    for (let j = Math.floor(from); j < Math.min(nIn, Math.ceil(to)); j++) {
      const overlap = Math.min(to, j + 1) - Math.max(from, j);
      if (overlap > 0) row.push([j, overlap / scale]);
    }
    weights.push(row);
  }
  return weights;
}

// ink: Float32Array of width*height values in [0, 1]. Returns a Float32Array of 28*28 values in [0, 1],
// or null when nothing is drawn.
export function mnistImage(ink, width, height) {
  let top = height, bottom = -1, left = width, right = -1;
  for (let y = 0; y < height; y++)
    for (let x = 0; x < width; x++)
      if (ink[y * width + x] > 0) {
        if (y < top) top = y;
        if (y > bottom) bottom = y;
        if (x < left) left = x;
        if (x > right) right = x;
      }
  if (bottom < 0) return null;
  const boxW = right - left + 1, boxH = bottom - top + 1;
  const scale = BOX / Math.max(boxW, boxH);
  const outW = Math.max(1, Math.round(boxW * scale)), outH = Math.max(1, Math.round(boxH * scale));
  // Rows first (boxW -> outW), then columns (boxH -> outH).
  const wx = boxWeights(boxW, outW), wy = boxWeights(boxH, outH);
  const rows = new Float32Array(boxH * outW);
  for (let y = 0; y < boxH; y++)
    for (let i = 0; i < outW; i++) {
      let sum = 0;
      for (const [j, w] of wx[i]) sum += w * ink[(top + y) * width + left + j];
      rows[y * outW + i] = sum;
    }
  const small = new Float32Array(outH * outW);
  for (let i = 0; i < outH; i++)
    for (let x = 0; x < outW; x++) {
      let sum = 0;
      for (const [j, w] of wy[i]) sum += w * rows[j * outW + x];
      small[i * outW + x] = sum;
    }
  // The centre of mass of the scaled digit, then the whole-pixel shift that puts it at (CENTRE, CENTRE).
  let mass = 0, my = 0, mx = 0;
  for (let y = 0; y < outH; y++)
    for (let x = 0; x < outW; x++) {
      const v = small[y * outW + x];
      mass += v;
      my += v * y;
      mx += v * x;
    }
  const dy = Math.round(CENTRE - my / mass), dx = Math.round(CENTRE - mx / mass);
  const image = new Float32Array(FIELD * FIELD);
  for (let y = 0; y < outH; y++)
    for (let x = 0; x < outW; x++) {
      const ty = y + dy, tx = x + dx;
      if (ty >= 0 && ty < FIELD && tx >= 0 && tx < FIELD) image[ty * FIELD + tx] = Math.min(1, small[y * outW + x]);
    }
  return image;
}
