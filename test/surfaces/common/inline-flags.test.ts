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
  it('selects models whose aliases hold dots, and 4k', () => {
    const all = ['lite', 'pro', 'pro-fast', '1.5-pro', '2.0', '2.0-fast', '2.5'];
    expect(parseInlineFlags('a fox --2.0 runs', all)).toEqual({ prompt: 'a fox runs', options: { model: '2.0' }, problems: [] });
    expect(parseInlineFlags('a fox --1.5-pro', all).options).toEqual({ model: '1.5-pro' });
    expect(parseInlineFlags('a fox --2.0-fast --4k', all).options).toEqual({ model: '2.0-fast', resolution: '4k' });
    expect(parseInlineFlags('a fox —2.5 --res 4k', all).options).toEqual({ model: '2.5', resolution: '4k' });
    // An alias this bot doesn't serve is an unknown option, not a guess.
    expect(parseInlineFlags('a fox --2.0', aliases).problems).toEqual(['unknown option --2.0']);
    // A sentence that ends in a version number stays prompt text.
    expect(parseInlineFlags('version 2.0 of the fox', all).prompt).toBe('version 2.0 of the fox');
  });
  it('turns sound on and off', () => {
    for (const on of ['--audio', '--sound']) expect(parseInlineFlags(`rain ${on}`, aliases).options).toEqual({ audio: true });
    for (const off of ['--no-audio', '--no-sound', '--mute', '--silent']) expect(parseInlineFlags(`rain ${off}`, aliases).options).toEqual({ audio: false });
    expect(parseInlineFlags('rain --2.0 --duration 12 --mute', ['2.0'])).toEqual({ prompt: 'rain', options: { model: '2.0', duration: '12', audio: false }, problems: [] });
  });
  it('keeps line breaks out of the prompt and leaves plain dashes alone', () => {
    expect(parseInlineFlags('a well-lit room\n - slow pan', aliases).prompt).toBe('a well-lit room - slow pan');
  });
});
