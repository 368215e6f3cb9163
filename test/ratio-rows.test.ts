/** What the ratio editor asks before saving a risky variant (webview/ratios/rows.ts, pure, tested in Node). */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { PlanWarning } from '../src/shared/types.js';
import { saveConfirmation } from '../webview/ratios/rows.js';

const warning = (kind: PlanWarning['kind'], message: string): PlanWarning => ({ kind, message, numbers: {}, fix: '' });

describe('the confirmation before saving a variant', () => {
  it('is not asked for by warnings that leave the model working', () => {
    assert.equal(saveConfirmation([warning('bottleneck', 'narrow'), warning('cliff', 'steep'), warning('data', 'synthetic')]), undefined);
  });

  it('names a collapsed layer as such', () => {
    assert.deepEqual(saveConfirmation([warning('collapse', 'group 1 is left with 1 of 8 channels'), warning('cliff', 'steep')]), {
      message: 'In this plan a layer collapses. Save the variant anyway?',
      detail: 'group 1 is left with 1 of 8 channels',
    });
    assert.match(saveConfirmation([warning('collapse', 'a'), warning('collapse', 'b')])!.message, /^In this plan 2 layers collapse\./);
  });

  it('names a predicted loss of the output as such, not as a collapse (PP-OCRv4\'s plans at 50 % on synthetic inputs)', () => {
    const ask = saveConfirmation([warning('destroyed', 'the groups\' predicted losses sum to 0.929, at 93 % of its maximum 1.000')]);
    assert.equal(ask!.message, 'In this plan the output is predicted to be lost. Save the variant anyway?');
    assert.doesNotMatch(ask!.message, /collapse/);
    assert.equal(saveConfirmation([warning('collapse', 'a'), warning('destroyed', 'b')])!.message,
      'In this plan a layer collapses and the output is predicted to be lost. Save the variant anyway?');
  });
});
