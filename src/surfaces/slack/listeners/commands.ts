/** The /video slash command: a prompt with inline flags; problems are answered ephemerally. */
import type { App } from '@slack/bolt';
import { parseInlineFlags } from '../../common/inline-flags.js';
import { unescape } from '../slack-format.js';
import { CALLBACKS } from '../slack-refs.js';
import type { SlackListenerDeps } from './context.js';
import { SLACK_USAGE } from './context.js';

export function register(app: App, { catalogue, start }: SlackListenerDeps): void {
  app.command(CALLBACKS.command, async ({ ack, command, respond }) => {
    await ack();
    const parsed = parseInlineFlags(unescape(command.text), catalogue.aliases());
    const refuse = (text: string) => respond({ response_type: 'ephemeral', text: `:warning: ${text}` }).then(() => undefined);
    if (parsed.problems.length) return refuse(`${parsed.problems.join('; ')}. ${SLACK_USAGE}`);
    if (!parsed.prompt) return refuse(SLACK_USAGE);
    await start({ input: { prompt: parsed.prompt, ...parsed.options }, userId: command.user_id, channel: command.channel_id, refuse });
  });
}
