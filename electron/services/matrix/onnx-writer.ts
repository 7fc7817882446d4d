// A protocol-buffer writer for the few ONNX messages a small float32 graph without weights needs
// (a ModelProto of nodes, symbolic-shape inputs and outputs), so onnxruntime can run products built
// at run time without onnx-proto (a dev dependency, used by native-models/testmodel for its graphs).

class Proto {
  private readonly bytes: number[] = [];

  private varint(v: number): void {
    while (v > 0x7f) {
      this.bytes.push((v & 0x7f) | 0x80);
      v = Math.floor(v / 128);
    }
    this.bytes.push(v);
  }

  int(field: number, v: number): this {
    this.varint(field << 3);
    this.varint(v);
    return this;
  }

  bytesField(field: number, data: Uint8Array | number[]): this {
    this.varint((field << 3) | 2);
    this.varint(data.length);
    for (const b of data) this.bytes.push(b);
    return this;
  }

  str(field: number, s: string): this {
    return this.bytesField(field, Buffer.from(s, 'utf8'));
  }

  msg(field: number, m: Proto): this {
    return this.bytesField(field, m.bytes);
  }

  done(): Uint8Array {
    return Uint8Array.from(this.bytes);
  }
}

const FLOAT = 1; // TensorProto.DataType.FLOAT
const ATTR_INTS = 7; // AttributeProto.AttributeType.INTS

/** ValueInfoProto of a float32 tensor whose dimensions are all symbolic (dim_param). */
export function floatValue(name: string, dims: string[]): Proto {
  const shape = new Proto();
  for (const d of dims) shape.msg(1, new Proto().str(2, d)); // Dimension.dim_param
  const tensor = new Proto().int(1, FLOAT).msg(2, shape);
  return new Proto().str(1, name).msg(2, new Proto().msg(1, tensor));
}

/** NodeProto named `<op>_<first output>`, with integer-list attributes (such as Transpose's perm). */
export function node(op: string, inputs: string[], outputs: string[], attributes: Record<string, number[]> = {}): Proto {
  const n = new Proto();
  for (const i of inputs) n.str(1, i);
  for (const o of outputs) n.str(2, o);
  n.str(3, `${op}_${outputs[0]}`).str(4, op);
  for (const [name, values] of Object.entries(attributes)) {
    const a = new Proto().str(1, name).int(20, ATTR_INTS);
    for (const v of values) a.int(8, v);
    n.msg(5, a);
  }
  return n;
}

/** A serialised ModelProto (IR 8, opset 17) of one graph. */
export function modelBytes(name: string, nodes: Proto[], inputs: Proto[], outputs: Proto[]): Uint8Array {
  const g = new Proto();
  for (const n of nodes) g.msg(1, n);
  g.str(2, name);
  for (const i of inputs) g.msg(11, i);
  for (const o of outputs) g.msg(12, o);
  return new Proto().int(1, 8).msg(8, new Proto().int(2, 17)).msg(7, g).done();
}
