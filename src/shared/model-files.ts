/** The model files PruneLens reads and writes back in their own format (engine, host and webview alike). */

/** ONNX, a TF.js model.json, a Keras 3 archive, a legacy Keras HDF5 file. */
export const MODEL_EXT = /\.(onnx|json|keras|h5)$/i;

/** A model file's extension, lower case ('onnx', 'json', 'keras', 'h5'); 'onnx' for anything else. */
export function modelExtension(name: string): 'onnx' | 'json' | 'keras' | 'h5' {
  return (MODEL_EXT.exec(name)?.[1].toLowerCase() ?? 'onnx') as 'onnx' | 'json' | 'keras' | 'h5';
}
