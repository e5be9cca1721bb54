import { describe, expect, it } from 'vitest';
import { createCatalogue } from '../../src/core/catalogue.js';
import { BUILTIN_MODELS } from '../../src/providers/index.js';
import { loadConfig, slackSocketMode } from '../../src/config.js';
import { ConfigError } from '../../src/core/errors.js';
import { progressLine, renderSlack } from '../../src/surfaces/slack/slack-format.js';
import { MODAL_BLOCKS, fieldFor, readModal, videoModal } from '../../src/surfaces/slack/slack-modal.js';
import { parseSlackRef, slackDmRef, slackRef } from '../../src/surfaces/slack/slack-refs.js';
import { sampleMessages } from '../surfaces/chat-surface-contract.js';

const cat = createCatalogue(BUILTIN_MODELS, { providers: ['aimlapi'] });

describe('Slack references', () => {
  it('round-trip messages, threads and DMs', () => {
    expect(parseSlackRef(slackRef('T1', 'C1', '1700000000.000100'))).toEqual({ team: 'T1', channel: 'C1', ts: '1700000000.000100' });
    expect(parseSlackRef(slackDmRef('T1', 'U1'))).toEqual({ team: 'T1', dmUser: 'U1' });
    expect(() => parseSlackRef('discord:1:2')).toThrow();
  });
});

describe('Slack modal', () => {
  it('offers exactly the catalogue choices and keeps its metadata', () => {
    const view = videoModal(cat, { withImage: true, withConversation: true, metadata: { kind: 'global' } });
    const json = JSON.stringify(view);
    for (const v of ['"lite"', '"pro"', '"480p"', '"1080p"', '"9:21"']) expect(json).toContain(`"value":${v}`);
    expect(JSON.parse(view.private_metadata)).toEqual({ kind: 'global' });
    expect(view.blocks.map((b) => (b as { block_id: string }).block_id)).toEqual(MODAL_BLOCKS);
    const animate = videoModal(cat, { withImage: false, withConversation: false, prompt: 'hi', metadata: { kind: 'again', jobId: 'j' } });
    expect(animate.blocks.map((b) => (b as { block_id: string }).block_id)).not.toContain('image');
  });

  it('takes several files, a length as a number and sound, where models allow them', () => {
    const view = videoModal(cat, { withImage: true, withConversation: true, metadata: { kind: 'global' } });
    const block = (id: string) => view.blocks.find((b) => (b as { block_id: string }).block_id === id) as { element: Record<string, unknown>; hint?: { text: string } } | undefined;
    expect(block('image')!.element.max_files).toBe(10);
    expect(block('duration')!.element).toMatchObject({ type: 'number_input', is_decimal_allowed: false, min_value: '4', max_value: '30' });
    expect(block('duration')!.hint!.text).toContain('2.5, 2.5-dreamina: 4 to 30');
    expect(block('sound')!.element).toMatchObject({ type: 'checkboxes', initial_options: [{ value: 'on' }] });
    const segmind = videoModal(createCatalogue(BUILTIN_MODELS, { providers: ['segmind'] }), { withImage: true, withConversation: true, metadata: { kind: 'global' } });
    const ids = segmind.blocks.map((b) => (b as { block_id: string }).block_id);
    expect(ids).not.toContain('sound');
    expect((segmind.blocks[ids.indexOf('image')] as { element: { max_files: number } }).element.max_files).toBe(1);
    // A message shortcut on several images: they are references, so the aspect ratio is the user's to pick.
    const refs = videoModal(cat, { withImage: false, withConversation: false, metadata: { kind: 'animate', channel: 'C', thread: '1.2', fileId: 'F1', referenceIds: ['F1', 'F2'] } });
    expect(refs.blocks.map((b) => (b as { block_id: string }).block_id)).toContain('ratio');
  });

  it('reads several files as reference images, an unchecked Sound box as silent, and the length as a number', () => {
    const files = [{ id: 'F1', name: 'a.png' }, { id: 'F2', name: 'b.png' }];
    expect(
      readModal({
        prompt: { value: { value: '@Image1 meets @Image2' } },
        duration: { value: { type: 'number_input', value: '12' } },
        sound: { value: { type: 'checkboxes', selected_options: [] } },
        image: { value: { files } },
      }),
    ).toEqual({ input: { prompt: '@Image1 meets @Image2', duration: '12', audio: false }, referenceFiles: files });
    // Checked (the default): sound where the model makes it, so lite stays valid.
    expect(readModal({ prompt: { value: { value: 'x' } }, sound: { value: { selected_options: [{ value: 'on' }] } } }).input).toEqual({ prompt: 'x' });
  });

  it('reads a submitted state into an input', () => {
    const file = { id: 'F1', name: 'a.png', mimetype: 'image/png' };
    expect(
      readModal({
        prompt: { value: { value: 'waves' } },
        model: { value: { selected_option: { value: 'pro' } } },
        duration: { value: { selected_option: { value: '10' } } },
        seed: { value: { value: '42' } },
        flags: { value: { selected_options: [{ value: 'fixed_camera' }] } },
        image: { value: { files: [file] } },
        conversation: { value: { selected_conversation: 'C9' } },
      }),
    ).toEqual({ input: { prompt: 'waves', model: 'pro', duration: '10', seed: '42', fixedCamera: true }, imageFile: file, conversation: 'C9' });
  });

  it('puts each validation message on the field it is about', () => {
    expect(fieldFor('aspect ratio is decided by the image when you give a first frame', MODAL_BLOCKS)).toBe('ratio');
    expect(fieldFor('Segmind renders at most 720p with lite', MODAL_BLOCKS)).toBe('resolution');
    expect(fieldFor('seed must be 1..999999 on Segmind', MODAL_BLOCKS)).toBe('seed');
    expect(fieldFor('first frame: the image is 100x100 px; each side must be 300–6000 px', MODAL_BLOCKS)).toBe('image');
    expect(fieldFor('first frame: too small', ['prompt', 'seed'])).toBe('prompt');
    expect(fieldFor('lite makes 5 or 10 s clips', MODAL_BLOCKS)).toBe('duration');
    expect(fieldFor('Segmind with lite makes 5 or 10 s clips', MODAL_BLOCKS)).toBe('duration');
    expect(fieldFor('2.0-fast renders at most 720p', MODAL_BLOCKS)).toBe('resolution');
    expect(fieldFor('lite makes no sound; 1.5-pro, 2.0 or 2.5 do', MODAL_BLOCKS)).toBe('sound');
    expect(fieldFor('at most 9 reference images fit with 2.0; you gave 10', MODAL_BLOCKS)).toBe('image');
    expect(fieldFor('lite takes no reference images; 2.0 or 2.5 do', MODAL_BLOCKS)).toBe('image');
    expect(fieldFor('reference image 2: the image is 100x100 px; each side must be 300–6000 px', MODAL_BLOCKS)).toBe('image');
    expect(fieldFor('the prompt names @Image3, but only 2 reference images were given', MODAL_BLOCKS)).toBe('prompt');
  });
});

describe('Slack messages', () => {
  it('renders progress with a Cancel button and results with Re-roll, Animate again, Extend and Delete', () => {
    expect(JSON.stringify(renderSlack(sampleMessages.progress).blocks)).toContain('"action_id":"sd_cancel","value":"job-1"');
    const video = JSON.stringify(renderSlack(sampleMessages.video).blocks);
    for (const a of ['sd_reroll', 'sd_again', 'sd_extend', 'sd_delete']) expect(video).toContain(a);
    expect(renderSlack(sampleMessages.link).blocks.map((b) => JSON.stringify(b)).join()).toContain('<https://cdn.example/v.mp4|Download it here>');
    expect(renderSlack(sampleMessages.failed).blocks).toHaveLength(2);
  });
  it('writes progress in Slack mrkdwn with Slack emoji', () => {
    expect(progressLine({ jobId: 'j', phase: 'queued', queuePosition: 3, elapsedSeconds: 4 })).toBe(':hourglass_flowing_sand: *Waiting for a free slot* · #3 in the queue · 0:04 elapsed');
    expect(progressLine(sampleMessages.progress.kind === 'progress' ? sampleMessages.progress.progress : (undefined as never))).toBe(
      ':clapper: *Rendering* · 25%\n`████░░░░░░░░░░` 0:12 elapsed · ~0:30 left',
    );
  });

  it('escapes prompts so they cannot ping or link', () => {
    const m = renderSlack({ ...sampleMessages.failed, job: { ...sampleMessages.failed.job, prompt: '<!channel> & <@U1>' } });
    expect(JSON.stringify(m.blocks)).toContain('&lt;!channel&gt; &amp; &lt;@U1&gt;');
  });
});

describe('Slack config', () => {
  it('needs an app token or a signing secret with the bot token', () => {
    expect(() => loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1' })).toThrow(ConfigError);
    expect(slackSocketMode(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1' }))).toBe(true);
    expect(slackSocketMode(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_SIGNING_SECRET: 's' }))).toBe(false);
    expect(slackSocketMode(loadConfig({ SLACK_BOT_TOKEN: 'xoxb-1', SLACK_APP_TOKEN: 'xapp-1', SLACK_SIGNING_SECRET: 's', SLACK_SOCKET_MODE: 'false' }))).toBe(false);
  });
});
