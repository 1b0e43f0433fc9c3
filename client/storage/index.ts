/** Browser-safe storage; the Node file store is imported from './file-store' directly. */
export * from './key-value-store';
export * from './memory-store';
