// Converts a TensorFlow.js graph model (model.json + weight shards, as shipped in
// @vladmandic/human's models folder) into an ONNX graph, in memory, so onnxruntime-node can run it
// beside CLIP instead of TensorFlow.js's WebAssembly backend (issue 11: the face detector's cost).
//
// Only the ops of Human's face models are handled — BlazeFace, face mesh, iris, emotion: Placeholder,
// Const, _FusedConv2D / _FusedDepthwiseConv2dNative (fused BiasAdd then Relu, Relu6, Prelu,
// LeakyRelu, Sigmoid, Elu), Conv2D, DepthwiseConv2dNative, element-wise arithmetic, activations,
// MaxPool, AvgPool, Pad, Reshape, ConcatV2, Mean, Softmax, Identity. Anything else is refused by name rather than
// guessed. Weights may be float32, int32, or quantized (float16, uint8/uint16 with scale and min),
// exactly as tfjs decodes them.
//
// Layout: tfjs runs NHWC, ONNX's Conv and pools are NCHW. Every 4-D activation is carried as NCHW
// (conv filters HWIO → OIHW, depthwise HWCM → (C·M)1HW, per-channel constants and pads permuted);
// a Transpose back to NHWC is inserted only where an op depends on the memory order (Reshape, an
// output, a mix of layouts), so the numbers come out exactly as tfjs lays them out. TF's 'SAME'
// padding puts the odd pixel after, which is ONNX's SAME_UPPER.
import { GraphBuilder } from './onnx-graph.ts';

interface TfAttr {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { s?: string[]; i?: (string | number)[]; f?: number[] };
  shape?: { dim?: { size: string | number }[] };
}
interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}
interface TfWeightSpec {
  name: string;
  shape: number[];
  dtype: string;
  quantization?: { dtype: string; scale?: number; min?: number; original_dtype?: string };
}

/** A constant of the graph, decoded as tfjs would. */
export interface TfConst {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

/** A parsed tfjs graph model: its nodes and its decoded weights. */
export interface TfjsGraph {
  nodes: TfNode[];
  consts: Map<string, TfConst>;
  /** Placeholders with their NHWC shape (-1 for a free dimension). */
  inputs: { name: string; shape: number[] }[];
  /** Nodes no other node reads: what GraphModel.execute returns, in graph order. */
  outputs: string[];
}

/** Reads model.json and its weight files (`files`: file name → bytes, e.g. from readVerifiedModelFiles). */
export function parseTfjsGraph(json: Buffer | string, files: ReadonlyMap<string, Buffer>): TfjsGraph {
  const j = JSON.parse(json.toString());
  if (j.format !== 'graph-model' || !j.modelTopology?.node) throw new Error('not a TensorFlow.js graph model');
  const nodes = j.modelTopology.node as TfNode[];
  const consts = new Map<string, TfConst>();
  for (const group of j.weightsManifest as { paths: string[]; weights: TfWeightSpec[] }[]) {
    const bytes = Buffer.concat(group.paths.map((p) => {
      const b = files.get(p);
      if (!b) throw new Error(`weight file ${p} is missing`);
      return b;
    }));
    let off = 0;
    for (const w of group.weights) {
      const n = w.shape.reduce((a, b) => a * b, 1);
      const { value, size } = decodeWeight(w, n, bytes, off);
      consts.set(w.name, value);
      off += size;
    }
    if (off !== bytes.length) throw new Error(`weights take ${off} bytes, the files hold ${bytes.length}`);
  }
  const read = new Set(nodes.flatMap((n) => (n.input ?? []).map(ref)));
  const inputs = nodes.filter((n) => n.op === 'Placeholder')
    .map((n) => ({ name: n.name, shape: (n.attr?.shape?.shape?.dim ?? []).map((d) => Number(d.size)) }));
  const outputs = nodes.filter((n) => n.op !== 'Const' && n.op !== 'Placeholder' && !read.has(n.name)).map((n) => n.name);
  return { nodes, consts, inputs, outputs };
}

function decodeWeight(w: TfWeightSpec, n: number, bytes: Buffer, off: number): { value: TfConst; size: number } {
  const copy = (len: number) => bytes.buffer.slice(bytes.byteOffset + off, bytes.byteOffset + off + len);
  const q = w.quantization;
  if (q) {
    if (q.dtype === 'float16') return { value: { dtype: 'float32', shape: w.shape, data: halfToFloat(new Uint16Array(copy(2 * n))) }, size: 2 * n };
    if (q.dtype === 'uint8' || q.dtype === 'uint16') {
      const raw = q.dtype === 'uint8' ? new Uint8Array(copy(n)) : new Uint16Array(copy(2 * n));
      const out = new Float32Array(n);
      for (let i = 0; i < n; i++) out[i] = raw[i] * q.scale! + q.min!;
      const value = w.dtype === 'int32' ? Int32Array.from(out, Math.round) : out;
      return { value: { dtype: w.dtype === 'int32' ? 'int32' : 'float32', shape: w.shape, data: value }, size: raw.byteLength };
    }
    throw new Error(`weight ${w.name}: unsupported quantization ${q.dtype}`);
  }
  if (w.dtype === 'float32') return { value: { dtype: 'float32', shape: w.shape, data: new Float32Array(copy(4 * n)) }, size: 4 * n };
  if (w.dtype === 'int32') return { value: { dtype: 'int32', shape: w.shape, data: new Int32Array(copy(4 * n)) }, size: 4 * n };
  throw new Error(`weight ${w.name}: unsupported dtype ${w.dtype}`);
}

/** IEEE half → float, as tfjs's float16 weight decoder. */
export function halfToFloat(h: Uint16Array): Float32Array {
  const out = new Float32Array(h.length);
  for (let i = 0; i < h.length; i++) {
    const x = h[i];
    const sign = x & 0x8000 ? -1 : 1;
    const e = (x >> 10) & 0x1f;
    const m = x & 0x3ff;
    out[i] = e === 0 ? sign * m * 2 ** -24 : e === 31 ? (m ? NaN : sign * Infinity) : sign * (1 + m / 1024) * 2 ** (e - 15);
  }
  return out;
}

/** "name:0" → "name"; a control input "^name" is kept as such (and skipped by the converter). */
function ref(input: string): string {
  const m = /^(\^?[^:]+)(?::(\d+))?$/.exec(input);
  if (!m) throw new Error(`bad tensor reference ${input}`);
  if (m[2] && m[2] !== '0') throw new Error(`tensor ${input}: only single-output ops are supported`);
  return m[1];
}

/** Reorders an N-D array: out dimension k is in dimension perm[k]. */
export function permute<T extends Float32Array | Int32Array>(data: T, shape: number[], perm: number[]): { data: T; shape: number[] } {
  const r = shape.length;
  const outShape = perm.map((p) => shape[p]);
  const inStride = new Array<number>(r);
  for (let k = r - 1, s = 1; k >= 0; s *= shape[k], k--) inStride[k] = s;
  const step = perm.map((p) => inStride[p]);
  const out = new (data.constructor as new (n: number) => T)(data.length);
  const idx = new Array<number>(r).fill(0);
  for (let o = 0; o < data.length; o++) {
    let src = 0;
    for (let k = 0; k < r; k++) src += idx[k] * step[k];
    out[o] = data[src];
    for (let k = r - 1; k >= 0; k--) {
      if (++idx[k] < outShape[k]) break;
      idx[k] = 0;
    }
  }
  return { data: out, shape: outShape };
}

const TO_NCHW = [0, 3, 1, 2];
const TO_NHWC = [0, 2, 3, 1];
/** NHWC axis → NCHW axis. */
const AXIS_NCHW = [0, 2, 3, 1];

/** A converted tensor: its ONNX name and whether it holds a 4-D activation in NCHW order. */
interface Val {
  name: string;
  nchw: boolean;
}

const BINARY: Record<string, string> = { AddV2: 'Add', Add: 'Add', Sub: 'Sub', Mul: 'Mul', RealDiv: 'Div', Maximum: 'Max', Minimum: 'Min' };
const UNARY: Record<string, string> = { Relu: 'Relu', Sigmoid: 'Sigmoid', Tanh: 'Tanh', Elu: 'Elu', Neg: 'Neg', Exp: 'Exp', Abs: 'Abs' };

/**
 * Adds `graph`'s nodes to `g`. `feeds` maps a Placeholder to an ONNX tensor already in `g` holding
 * it in NCHW order; a Placeholder not given becomes a float32 NHWC graph input of its own name.
 * Returns the ONNX names of the tfjs outputs (NHWC order, as tfjs returns them), in graph order.
 */
export function addTfjsGraph(g: GraphBuilder, graph: TfjsGraph, feeds: Record<string, string> = {}): string[] {
  const vals = new Map<string, Val>();
  const nhwcCache = new Map<string, string>();
  const c = (name: string): TfConst => {
    const v = graph.consts.get(ref(name));
    if (!v) throw new Error(`${name} is not a constant`);
    return v;
  };
  const val = (name: string): Val => {
    const v = vals.get(ref(name));
    if (!v) throw new Error(`tensor ${name} is used before it is computed or is a constant where a tensor is expected`);
    return v;
  };
  const nchw = (v: Val): string => (v.nchw ? v.name : g.op1('Transpose', [v.name], { perm: TO_NCHW }));
  const plain = (v: Val): string => {
    if (!v.nchw) return v.name;
    let t = nhwcCache.get(v.name);
    if (!t) nhwcCache.set(v.name, (t = g.op1('Transpose', [v.name], { perm: TO_NHWC })));
    return t;
  };
  /** A constant combined element-wise with an NCHW activation: its NHWC shape right-aligned to rank 4, then permuted. */
  const channelConst = (k: TfConst): string => {
    if (k.shape.length > 4) throw new Error('constant of rank > 4 beside a 4-D activation');
    const shape4 = [...new Array(4 - k.shape.length).fill(1), ...k.shape];
    const p = permute(k.data, shape4, TO_NCHW);
    return g.init(g.unique('const'), k.dtype, p.shape, p.data);
  };
  const asIs = (k: TfConst): string => g.init(g.unique('const'), k.dtype, k.shape, k.data);

  for (const node of graph.nodes) {
    const inputs = (node.input ?? []).filter((i) => !i.startsWith('^'));
    const a = node.attr ?? {};
    const set = (name: string, isNchw: boolean) => vals.set(node.name, { name, nchw: isNchw });
    switch (node.op) {
      case 'Const':
        break;
      case 'Placeholder':
        if (feeds[node.name]) set(feeds[node.name], true);
        else {
          const shape = (a.shape?.shape?.dim ?? []).map((d, i) => (Number(d.size) < 0 ? `${node.name}_dim${i}` : Number(d.size)));
          set(g.input(node.name, 'float32', shape), false);
        }
        break;
      case 'Identity':
        vals.set(node.name, val(inputs[0]));
        break;
      case 'Conv2D':
      case 'DepthwiseConv2dNative':
      case '_FusedConv2D':
      case '_FusedDepthwiseConv2dNative':
        set(conv(g, node, nchw(val(inputs[0])), inputs, c), true);
        break;
      case 'MaxPool':
      case 'AvgPool': {
        checkNhwc(node);
        const [kh, kw] = hw(a.ksize);
        set(g.op1(node.op === 'MaxPool' ? 'MaxPool' : 'AveragePool', [nchw(val(inputs[0]))], {
          kernel_shape: [kh, kw], strides: hw(a.strides), ...padding(node),
        }), true);
        break;
      }
      case 'Prelu': {
        const x = val(inputs[0]);
        const alpha = c(inputs[1]);
        set(g.op1('PRelu', [x.name, x.nchw ? channelConst(alpha) : asIs(alpha)]), x.nchw);
        break;
      }
      case 'Relu6': {
        const x = val(inputs[0]);
        set(g.op1('Clip', [x.name, g.f32('zero', [], [0]), g.f32('six', [], [6])]), x.nchw);
        break;
      }
      case 'Pad':
      case 'PadV2': {
        const x = val(inputs[0]);
        const p = c(inputs[1]).data;
        const r = p.length / 2;
        let begin = Array.from({ length: r }, (_, i) => p[2 * i]);
        let end = Array.from({ length: r }, (_, i) => p[2 * i + 1]);
        if (x.nchw) [begin, end] = [TO_NCHW.map((k) => begin[k]), TO_NCHW.map((k) => end[k])];
        const value = node.op === 'PadV2' ? c(inputs[2]).data[0] : 0;
        set(g.op1('Pad', [x.name, g.i64('pads', [...begin, ...end]), g.f32('pad_value', [], [value])], { mode: 'constant' }), x.nchw);
        break;
      }
      case 'Reshape':
        set(g.op1('Reshape', [plain(val(inputs[0])), g.i64('shape', Array.from(c(inputs[1]).data))]), false);
        break;
      case 'ConcatV2': {
        const parts = inputs.slice(0, -1).map(val);
        let axis = c(inputs[inputs.length - 1]).data[0];
        const allNchw = parts.every((v) => v.nchw);
        if (allNchw) axis = AXIS_NCHW[axis < 0 ? axis + 4 : axis];
        set(g.op1('Concat', parts.map((v) => (allNchw ? v.name : plain(v))), { axis }), allNchw);
        break;
      }
      case 'Mean': {
        // The emotion model's global average pooling. An NCHW input is reduced in place when the
        // result keeps its dimensions or is [n, c] either way (height and width reduced); otherwise
        // in NHWC order.
        const x = val(inputs[0]);
        const tfAxes = Array.from(c(inputs[1]).data).map((k) => (k < 0 ? k + 4 : k));
        const keep = a.keep_dims?.b ? 1 : 0;
        const mapped = tfAxes.map((k) => AXIS_NCHW[k]);
        const inPlace = x.nchw && (keep === 1 || (mapped.length === 2 && mapped.includes(2) && mapped.includes(3)));
        set(g.op1('ReduceMean', [inPlace ? x.name : plain(x)], { axes: inPlace ? mapped : tfAxes, keepdims: keep }), inPlace && keep === 1);
        break;
      }
      case 'Softmax': {
        const x = val(inputs[0]); // tfjs: over the last (NHWC) axis
        set(g.op1('Softmax', [x.name], { axis: x.nchw ? 1 : -1 }), x.nchw);
        break;
      }
      default:
        if (BINARY[node.op]) {
          const [l, r] = inputs.map((i) => (graph.consts.has(ref(i)) ? null : val(i)));
          if (!l && !r) throw new Error(`${node.name}: ${node.op} of two constants`);
          const layoutNchw = (l?.nchw ?? true) && (r?.nchw ?? true);
          const side = (v: Val | null, i: string) => (v ? (layoutNchw ? v.name : plain(v)) : layoutNchw ? channelConst(c(i)) : asIs(c(i)));
          set(g.op1(BINARY[node.op], [side(l, inputs[0]), side(r, inputs[1])]), layoutNchw);
        } else if (UNARY[node.op]) {
          const x = val(inputs[0]);
          set(g.op1(UNARY[node.op], [x.name]), x.nchw);
        } else {
          throw new Error(`${node.name}: TensorFlow op ${node.op} is not supported by the converter`);
        }
    }
  }
  return graph.outputs.map((name) => g.op1('Identity', [plain(val(name))], {}, name));
}

function checkNhwc(node: TfNode): void {
  const f = node.attr?.data_format?.s;
  if (f && Buffer.from(f, 'base64').toString() !== 'NHWC') throw new Error(`${node.name}: only NHWC is supported`);
}

/** [h, w] of an NHWC attribute list such as strides [1, h, w, 1]. */
function hw(attr: TfAttr | undefined): [number, number] {
  const l = (attr?.list?.i ?? [1, 1, 1, 1]).map(Number);
  return [l[1], l[2]];
}

function padding(node: TfNode): Record<string, string | number[]> {
  const mode = Buffer.from(node.attr?.padding?.s ?? '', 'base64').toString();
  if (mode === 'SAME') return { auto_pad: 'SAME_UPPER' };
  if (mode === 'VALID') return { pads: [0, 0, 0, 0] };
  if (mode === 'EXPLICIT') {
    const l = (node.attr?.explicit_paddings?.list?.i ?? []).map(Number); // NHWC [before, after] pairs
    return { pads: [l[2], l[4], l[3], l[5]] };
  }
  throw new Error(`${node.name}: padding ${mode} is not supported`);
}

function conv(g: GraphBuilder, node: TfNode, x: string, inputs: string[], c: (name: string) => TfConst): string {
  checkNhwc(node);
  const a = node.attr ?? {};
  const depthwise = node.op.includes('Depthwise');
  const f = c(inputs[1]);
  const [kh, kw, ci, co] = f.shape; // HWIO; depthwise: H, W, in channels, multiplier
  const w = depthwise
    ? { data: permute(f.data, f.shape, [2, 3, 0, 1]).data, shape: [ci * co, 1, kh, kw] }
    : permute(f.data, f.shape, [3, 2, 0, 1]);
  const fused = (a.fused_ops?.list?.s ?? []).map((s) => Buffer.from(s, 'base64').toString());
  const convIn = [x, g.init(g.unique('filter'), 'float32', w.shape, w.data as Float32Array)];
  let rest = fused;
  if (fused[0] === 'BiasAdd') {
    convIn.push(g.init(g.unique('bias'), 'float32', [c(inputs[2]).data.length], c(inputs[2]).data as Float32Array));
    rest = fused.slice(1);
  }
  let y = g.op1('Conv', convIn, {
    strides: hw(a.strides), dilations: hw(a.dilations), group: depthwise ? ci : 1, ...padding(node),
  });
  for (const op of rest) {
    if (op === 'Relu') y = g.op1('Relu', [y]);
    else if (op === 'Relu6') y = g.op1('Clip', [y, g.f32('zero', [], [0]), g.f32('six', [], [6])]);
    else if (op === 'Sigmoid') y = g.op1('Sigmoid', [y]);
    else if (op === 'Elu') y = g.op1('Elu', [y]);
    else if (op === 'LeakyRelu') y = g.op1('LeakyRelu', [y], { alpha: { float: a.leakyrelu_alpha?.f ?? 0.2 } });
    else if (op === 'Prelu') {
      const alpha = c(inputs[3]);
      const n = alpha.data.length;
      y = g.op1('PRelu', [y, g.init(g.unique('alpha'), 'float32', [n, 1, 1], alpha.data as Float32Array)]);
    } else throw new Error(`${node.name}: fused op ${op} is not supported by the converter`);
  }
  return y;
}

/** A whole tfjs graph as a standalone ONNX model (inputs NHWC float32, named as the Placeholders). */
export function tfjsToOnnx(graph: TfjsGraph, name = 'tfjs'): Uint8Array {
  const g = new GraphBuilder(name, 'cull-tfjs-to-onnx');
  for (const out of addTfjsGraph(g, graph)) g.output(out, 'float32', null);
  return g.encode();
}
