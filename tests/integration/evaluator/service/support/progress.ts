/**
 * Reads a progress stream (server-sent events) to its end with `eventsource-parser`.
 */
import { createParser } from 'eventsource-parser';
import { RunProgress } from '../../../../../protocol/evaluator-api.ts';

export async function readProgress(res: Response): Promise<RunProgress[]> {
  if (res.status !== 200) throw new Error(`progress stream answered ${res.status}: ${await res.text()}`);
  const events: RunProgress[] = [];
  const parser = createParser({
    onEvent: (e) => {
      if (e.event === 'progress') events.push(RunProgress.parse(JSON.parse(e.data)));
    },
  });
  const decoder = new TextDecoder();
  const reader = res.body!.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    parser.feed(decoder.decode(value, { stream: true }));
  }
  return events;
}
