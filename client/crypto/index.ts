/** The end-to-end cryptography core of the Cyphr client: pure TypeScript, the same in Node and browsers. */
export * from './errors';
export * from './bytes';
export * from './primitives';
export * from './address';
export * from './identity';
export * from './prekeys';
export * from './x3dh';
export * from './double-ratchet';
export * from './session';
export * from './sender-keys';
export * from './padding';
export * from './envelope';
export * from './safety-number';
export * from './provisioning';
