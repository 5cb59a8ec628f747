// Runs RVM's TF.js graph model with TF.js itself (@tensorflow/tfjs, CPU backend) over a
// sequence of frames, carrying the recurrent state, for the parity check in export/rvm_parity.py.
//
// node rvm_tfjs.js MODEL_DIR FRAMES.f32 N H W RATIO OUT.f32
//   FRAMES.f32: N frames, float32 RGB 0..1, [N, H, W, 3] (NHWC, as the graph takes them)
//   OUT.f32:    for each frame pha [H, W] then fgr [H, W, 3], float32
// The model is read from MODEL_DIR/rvm.json and the weight files its manifest names.
"use strict";
const fs = require("fs");
const path = require("path");
const tf = require("@tensorflow/tfjs");

function loadHandler(dir) {
  return {
    load: async () => {
      const json = JSON.parse(fs.readFileSync(path.join(dir, "rvm.json"), "utf8"));
      const specs = [];
      const buffers = [];
      for (const group of json.weightsManifest) {
        specs.push(...group.weights);
        for (const p of group.paths) buffers.push(fs.readFileSync(path.join(dir, p)));
      }
      const all = Buffer.concat(buffers);
      return {
        modelTopology: json.modelTopology,
        format: json.format,
        generatedBy: json.generatedBy,
        convertedBy: json.convertedBy,
        signature: json.signature,
        weightSpecs: specs,
        weightData: all.buffer.slice(all.byteOffset, all.byteOffset + all.byteLength),
      };
    },
  };
}

async function main() {
  const [dir, framesPath, n, h, w, ratio, outPath] = process.argv.slice(2);
  const [N, H, W] = [Number(n), Number(h), Number(w)];
  await tf.setBackend("cpu");
  const model = await tf.loadGraphModel(loadHandler(dir));
  const outs = model.signature.outputs;
  const names = ["pha", "fgr", "r1o", "r2o", "r3o", "r4o"].map((k) => outs[k].name);
  const raw = fs.readFileSync(framesPath);
  const frames = new Float32Array(raw.buffer, raw.byteOffset, N * H * W * 3);
  const out = fs.openSync(outPath, "w");
  let state = [0, 0, 0, 0].map(() => tf.zeros([1, 1, 1, 1]));
  const ds = tf.scalar(Number(ratio));
  for (let i = 0; i < N; i++) {
    const src = tf.tensor4d(frames.subarray(i * H * W * 3, (i + 1) * H * W * 3), [1, H, W, 3]);
    const feed = { "src:0": src, "downsample_ratio:0": ds };
    state.forEach((t, k) => (feed[`r${k + 1}i:0`] = t));
    const [pha, fgr, ...next] = await model.executeAsync(feed, names);
    fs.writeSync(out, Buffer.from((await pha.data()).buffer));
    fs.writeSync(out, Buffer.from((await fgr.data()).buffer));
    tf.dispose([src, pha, fgr, ...state]);
    state = next;
    process.stderr.write(`frame ${i + 1}/${N}\n`);
  }
  fs.closeSync(out);
}

main().catch((err) => {
  console.error(err.message || err);
  process.exit(1);
});
