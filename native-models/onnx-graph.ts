// A minimal ONNX graph builder over the protobufjs classes of `onnx-proto`: the generated test
// models (testmodel/) and the face detector converted from TensorFlow.js (tfjs-to-onnx.ts) are
// built with it, in memory, then handed to onnxruntime as bytes.
import onnxProto from 'onnx-proto';
import type { onnx as Onnx } from 'onnx-proto';

const { onnx } = onnxProto;
const DT = onnx.TensorProto.DataType;
const AT = onnx.AttributeProto.AttributeType;

export const OPSET = 17;

export type DType = 'float32' | 'int64' | 'int32' | 'uint8' | 'int8';
const DTYPE_CODE: Record<DType, number> = {
  float32: DT.FLOAT,
  int64: DT.INT64,
  int32: DT.INT32,
  uint8: DT.UINT8,
  int8: DT.INT8,
};

type TypedData = Float32Array | BigInt64Array | Int32Array | Uint8Array | Int8Array;
type AttrValue = number | number[] | string | { float: number };
/** A dimension of a graph input/output: a fixed size or a symbolic name such as "batch". */
export type Dim = number | string;

function tensorProto(name: string, dtype: DType, dims: number[], data: TypedData): Onnx.ITensorProto {
  // raw_data is a zero-copy little-endian view of the typed array (x86/ARM are little-endian).
  const rawData = Buffer.from(data.buffer, data.byteOffset, data.byteLength);
  return { name, dataType: DTYPE_CODE[dtype], dims, rawData };
}

function attribute(name: string, v: AttrValue): Onnx.IAttributeProto {
  if (typeof v === 'string') return { name, type: AT.STRING, s: Buffer.from(v) };
  if (Array.isArray(v)) return { name, type: AT.INTS, ints: v };
  if (typeof v === 'object') return { name, type: AT.FLOAT, f: v.float };
  return { name, type: AT.INT, i: v };
}

function valueInfo(name: string, dtype: DType, shape: Dim[]): Onnx.IValueInfoProto {
  const dim = shape.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d }));
  return { name, type: { tensorType: { elemType: DTYPE_CODE[dtype], shape: { dim } } } };
}

export class GraphBuilder {
  private readonly nodes: Onnx.INodeProto[] = [];
  private readonly initializers: Onnx.ITensorProto[] = [];
  private readonly inputs: Onnx.IValueInfoProto[] = [];
  private readonly outputs: Onnx.IValueInfoProto[] = [];
  private counter = 0;

  constructor(
    private readonly name: string,
    private readonly producer = 'cull-testmodel',
  ) {}

  input(name: string, dtype: DType, shape: Dim[]): string {
    this.inputs.push(valueInfo(name, dtype, shape));
    return name;
  }

  /** Declares a graph output; `shape` null: left for onnxruntime to infer. */
  output(name: string, dtype: DType, shape: Dim[] | null): void {
    this.outputs.push(shape ? valueInfo(name, dtype, shape) : { name, type: { tensorType: { elemType: DTYPE_CODE[dtype] } } });
  }

  /** Adds a constant tensor (weight) and returns its name. */
  init(name: string, dtype: DType, dims: number[], data: TypedData): string {
    this.initializers.push(tensorProto(name, dtype, dims, data));
    return name;
  }

  f32(name: string, dims: number[], values: number[] | Float32Array): string {
    return this.init(this.unique(name), 'float32', dims, Float32Array.from(values));
  }

  i64(name: string, values: number[]): string {
    return this.init(this.unique(name), 'int64', [values.length], BigInt64Array.from(values.map(BigInt)));
  }

  /** Adds a node; returns its output names (one fresh name per output unless given). */
  op(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, outputs: number | string[] = 1): string[] {
    const outs = typeof outputs === 'number'
      ? Array.from({ length: outputs }, () => this.unique(opType))
      : outputs;
    const attributes = Object.entries(attrs).map(([k, v]) => attribute(k, v));
    this.nodes.push({ opType, input: inputs, output: outs, name: this.unique(`${opType}_node`), attribute: attributes });
    return outs;
  }

  /** Single-output shorthand for `op`. */
  op1(opType: string, inputs: string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.op(opType, inputs, attrs, output ? [output] : 1)[0];
  }

  unique(base: string): string {
    return `${base}_${this.counter++}`;
  }

  /** Serialises a complete ModelProto (opset 17, IR version 8). */
  encode(): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      producerName: this.producer,
      opsetImport: [{ domain: '', version: OPSET }],
      graph: {
        name: this.name,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}
