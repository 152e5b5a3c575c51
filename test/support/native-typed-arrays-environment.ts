import NodeEnvironment from 'jest-environment-node';

/**
 * Jest's node environment with the host's typed-array constructors: a native addon (ONNX Runtime)
 * creates its outputs in the host realm, and `instanceof Float32Array` in the test's own realm would
 * reject them.
 */
export default class NativeTypedArraysEnvironment extends NodeEnvironment {
  override async setup(): Promise<void> {
    await super.setup();
    const shared = {
      ArrayBuffer,
      Float32Array,
      Float64Array,
      Int8Array,
      Int16Array,
      Int32Array,
      Uint8Array,
      Uint16Array,
      Uint32Array,
      BigInt64Array,
      BigUint64Array,
    };
    Object.assign(this.global, shared);
  }
}
