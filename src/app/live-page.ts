import type { Config } from '../config/schema.ts';
import type { ModelCard } from '../model/card.ts';
import type { Pick } from '../picker/pick.ts';
import { logChannelEvent } from '../stream/index.ts';
import { LiveView } from '../web/live-view.ts';
import { PageServer } from '../web/page-server.ts';
import type { PipelineHooks } from './pipeline.ts';

export interface LivePage {
  hooks: PipelineHooks;
  view: LiveView;
  server: PageServer;
  /** Each pick as it is written. */
  pick(pick: Pick): void;
  close(): Promise<void>;
}

/**
 * The live page of `run` (wall clock) or `replay` (data clock), fed by the pipeline's hooks.
 * Channel events are still logged as without the page.
 */
export async function startLivePage(
  config: Config,
  card: ModelCard,
  clock: 'wall' | 'data',
): Promise<LivePage> {
  const { host, port, historyS, lateAfterS, downAfterS } = config.page;
  const view = new LiveView({
    clock,
    historyS,
    recentPicks: 2000,
    classes: card.classes,
    thresholds: { lateAfterS, downAfterS, gapHoldS: 60 },
  });
  const server = await PageServer.start(view, { host, port });
  process.stderr.write(`live page: ${server.url}\n`);
  return {
    view,
    server,
    hooks: {
      onBlock: (block) => view.block(block),
      onProbabilities: (station, rate, segment) => view.stitched(station, rate, segment),
      onChannelEvent: (event) => {
        logChannelEvent(event);
        view.channelEvent(event);
      },
    },
    pick: (pick) => view.pick(pick),
    close: () => server.close(),
  };
}
