/** The memory a set of float32 samples may take (MAX_SAMPLE_BYTES), checked before it is allocated. */
import type { OptionName } from '../../shared/types.js';
import { PruneLensError } from '../errors.js';
import { formatBytes, MAX_SAMPLE_BYTES } from '../limits.js';

export function assertSamplesFit(count: number, sampleDims: number[], option: OptionName = 'samples', what = 'samples'): void {
  const bytes = count * sampleDims.reduce((a, b) => a * b, 1) * 4;
  if (bytes <= MAX_SAMPLE_BYTES) return;
  throw new PruneLensError(
    `${count} ${what} of ${sampleDims.join('x')} floats need ${formatBytes(bytes)}, more than the ${formatBytes(MAX_SAMPLE_BYTES)} ` +
      'PruneLens holds in memory: use fewer samples or smaller input shapes',
    { code: 'too-large', option },
  );
}
