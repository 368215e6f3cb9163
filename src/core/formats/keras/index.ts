/** Keras models: Keras 3 `.keras` archives and legacy `.h5` files, both converted through the Keras topology reader. */
export { loadKeras } from './archive.js';
export { loadKerasH5 } from './h5.js';
