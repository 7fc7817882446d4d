// A minimal WebAssembly assembler: the binary encoding, one opcode table and a module builder for
// the small SIMD kernel modules that dense-kernels.ts, row-kernels.ts and the technical analyzer's
// kernels (indexing/analyzers/technical-simd.ts) build at run time (no
// toolchain, no binary in the repo). Only the instructions those kernels use are listed.

/** Value types. */
export const VALTYPE = { i32: 0x7f, f32: 0x7d, f64: 0x7c, v128: 0x7b } as const;

/** Unsigned LEB128. */
export function uleb(n: number): number[] {
  const out: number[] = [];
  do {
    let b = n & 0x7f;
    n >>>= 7;
    if (n) b |= 0x80;
    out.push(b);
  } while (n);
  return out;
}

/** Signed LEB128. */
export function sleb(n: number): number[] {
  const out: number[] = [];
  for (;;) {
    const b = n & 0x7f;
    n >>= 7;
    if ((n === 0 && !(b & 0x40)) || (n === -1 && b & 0x40)) return [...out, b];
    out.push(b | 0x80);
  }
}

/** A length-prefixed vector of already-encoded items. */
export const vec = (items: number[][]): number[] => [...uleb(items.length), ...items.flat()];
/** A section: id, byte length, body. */
const section = (id: number, body: number[]): number[] => [id, ...uleb(body.length), ...body];
/** A UTF-8 name (export and import names). */
const name = (s: string): number[] => {
  const bytes = Buffer.from(s, 'utf8');
  return [...uleb(bytes.length), ...bytes];
};

/** A memory immediate: alignment hint (log2 of bytes) and byte offset. */
const memarg = (align: number, offset: number): number[] => [...uleb(align), ...uleb(offset)];
/** A SIMD instruction: the 0xfd prefix, then its LEB128 opcode and immediates. */
const simd = (opcode: number, ...immediates: number[]): number[] => [0xfd, ...uleb(opcode), ...immediates];

/** The instructions, each as its bytes (or a function of its immediates). */
export const op = {
  // control
  block: [0x02, 0x40],
  loop: [0x03, 0x40],
  ifVoid: [0x04, 0x40],
  end: [0x0b],
  br: (depth: number) => [0x0c, ...uleb(depth)],
  brIf: (depth: number) => [0x0d, ...uleb(depth)],
  ret: [0x0f],
  // locals
  get: (i: number) => [0x20, ...uleb(i)],
  set: (i: number) => [0x21, ...uleb(i)],
  tee: (i: number) => [0x22, ...uleb(i)],
  // i32 (addresses and counters)
  i32: (v: number) => [0x41, ...sleb(v)],
  eqz: [0x45],
  ltU: [0x49],
  gtS: [0x4a],
  geS: [0x4e],
  geU: [0x4f],
  add: [0x6a],
  mul: [0x6c],
  shl: [0x74],
  // f32
  f32const: (bits: number) => [0x43, bits & 0xff, (bits >>> 8) & 0xff, (bits >>> 16) & 0xff, bits >>> 24],
  f32load: (offset = 0) => [0x2a, ...memarg(2, offset)],
  f32store: (offset = 0) => [0x38, ...memarg(2, offset)],
  f32lt: [0x5d],
  f32gt: [0x5e],
  f32sqrt: [0x91],
  f32add: [0x92],
  f32sub: [0x93],
  f32mul: [0x94],
  f32div: [0x95],
  f32max: [0x97],
  f32FromI32: [0xb2],
  // f64
  f64const: (value: number) => [0x44, ...new Uint8Array(new Float64Array([value]).buffer)],
  f64PromoteF32: [0xbb],
  f64load: [0x2b, ...memarg(3, 0)],
  f64store: [0x39, ...memarg(3, 0)],
  f64add: [0xa0],
  f64sub: [0xa1],
  f64mul: [0xa2],
  // v128
  v128load: (offset = 0, align = 0) => simd(0x00, ...memarg(align, offset)),
  v128store: (offset = 0, align = 0) => simd(0x0b, ...memarg(align, offset)),
  v128zero: simd(0x0c, ...new Array<number>(16).fill(0)),
  /** i8x16.shuffle: byte k of the result is byte lanes[k] of the two operands (0–15 the first, 16–31 the second). */
  shuffle: (lanes: number[]) => simd(0x0d, ...lanes),
  v128and: simd(0x4e),
  v128or: simd(0x50),
  anyTrue: simd(0x53),
  // i8x16, i16x8
  i8x16NarrowI16: simd(0x65),
  i16x8NarrowI32: simd(0x85),
  i16x8ExtendLowI8: simd(0x87),
  i16x8ExtendHighI8: simd(0x88),
  i16x8MaxU: simd(0x99),
  // i32x4
  i32x4Splat: simd(0x11),
  i32x4Lane: (lane: number) => simd(0x1b, lane),
  i32x4Eq: simd(0x37),
  i32x4ExtendLowU16: simd(0xa9),
  i32x4ExtendHighU16: simd(0xaa),
  i32x4Shl: simd(0xab),
  i32x4Add: simd(0xae),
  i32x4MaxU: simd(0xb9),
  i32x4DotI16: simd(0xba),
  i32x4TruncSatF32: simd(0xf8),
  // f32x4
  f32x4Splat: simd(0x13),
  f32x4Lane: (lane: number) => simd(0x1f, lane),
  f32x4Nearest: simd(0x6a),
  f32x4Abs: simd(0xe0),
  f32x4Add: simd(0xe4),
  f32x4Sub: simd(0xe5),
  f32x4Mul: simd(0xe6),
  f32x4Max: simd(0xe9),
  // f64x2
  f64x2Splat: simd(0x14),
  f64x2Lane: (lane: number) => simd(0x21, lane),
  f64x2Add: simd(0xf0),
  f64x2Sub: simd(0xf1),
  f64x2Mul: simd(0xf2),
  f64x2ConvertLowI32x4U: simd(0xff),
  f32x4DemoteF64x2Zero: simd(0x5e),
  f64x2PromoteLowF32x4: simd(0x5f),
  f64x2Div: simd(0xf3),
  f64x2Abs: simd(0xec),
  f64x2Max: simd(0xf5),
};

/** Instructions as written in a kernel: single bytes or whole instructions, flattened in order. */
export type Code = (number | number[])[];

/** A function's type: its parameter and result value types. */
export function funcType(params: number[], results: number[] = []): number[] {
  return [0x60, ...vec(params.map((t) => [t])), ...vec(results.map((t) => [t]))];
}

export interface WasmFunction {
  /** The export name. */
  name: string;
  /** Index into the module's `types`. */
  type: number;
  /** Local declarations beyond the parameters: [count, value type] runs. */
  locals: [number, number][];
  /** The body, without the final `end` (added here). */
  code: Code;
}

/**
 * The memory: the module's own (exported as `mem`) or imported from `env.mem`; at least `pages` 64 KiB
 * pages. `shared`: an imported shared memory (threads proposal), which must then declare a maximum
 * (the whole 4 GiB of a 32-bit memory: any shared memory fits).
 */
export type WasmMemory = { own: true; pages: number } | { imported: true; pages: number; shared?: boolean };

/** A module of exported functions over one memory. */
export function wasmModule(types: number[][], memory: WasmMemory, functions: WasmFunction[]): Uint8Array<ArrayBuffer> {
  const limits = 'shared' in memory && memory.shared ? [0x03, ...uleb(memory.pages), ...uleb(65536)] : [0x00, ...uleb(memory.pages)];
  const body = (f: WasmFunction) => {
    const b = [...vec(f.locals.map(([count, type]) => [...uleb(count), type])), ...f.code.flat(), ...op.end];
    return [...uleb(b.length), ...b];
  };
  const exports = functions.map((f, i) => [...name(f.name), 0x00, ...uleb(i)]);
  return Uint8Array.from([
    0x00, 0x61, 0x73, 0x6d, 1, 0, 0, 0,
    ...section(1, vec(types)),
    ...('imported' in memory ? section(2, vec([[...name('env'), ...name('mem'), 0x02, ...limits]])) : []),
    ...section(3, vec(functions.map((f) => uleb(f.type)))),
    ...('own' in memory ? section(5, vec([limits])) : []),
    ...section(7, vec('own' in memory ? [[...name('mem'), 0x02, 0], ...exports] : exports)),
    ...section(10, vec(functions.map(body))),
  ]); // prettier-ignore
}
