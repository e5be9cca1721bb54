import { describe, expect, it } from 'vitest';
import { parseInlineFlags } from '../../../src/surfaces/common/inline-flags.js';

const aliases = ['lite', 'pro'];

describe('inline flags', () => {
  it('separates the prompt from the flags in any position', () => {
    expect(parseInlineFlags('a fox --ratio 9:16 running --seed 42 --pro --fixed through snow', aliases)).toEqual({
      prompt: 'a fox running through snow',
      options: { aspectRatio: '9:16', seed: '42', model: 'pro', fixedCamera: true },
      problems: [],
    });
  });
  it('understands short and = forms', () => {
    expect(parseInlineFlags('waves --ar=21:9 --res 1080p --duration=10 --watermark --model lite', aliases).options).toEqual({
      aspectRatio: '21:9',
      resolution: '1080p',
      duration: '10',
      watermark: true,
      model: 'lite',
    });
    expect(parseInlineFlags('waves --1080p --10s --16:9', aliases).options).toEqual({ resolution: '1080p', duration: '10s', aspectRatio: '16:9' });
  });
  it('handles the em dash phones type for --', () => {
    expect(parseInlineFlags('rain —pro', aliases).options).toEqual({ model: 'pro' });
  });
  it('reports unknown flags and missing values instead of guessing', () => {
    expect(parseInlineFlags('x --turbo --seed', aliases).problems).toEqual(['unknown option --turbo', '--seed needs a value']);
  });
  it('keeps line breaks out of the prompt and leaves plain dashes alone', () => {
    expect(parseInlineFlags('a well-lit room\n - slow pan', aliases).prompt).toBe('a well-lit room - slow pan');
  });
});
