import { Presets, SingleBar } from 'cli-progress';
import type { Progress } from './backend.js';
import type { Io } from './io.js';

export const noProgress: Progress = {
  start: () => undefined,
  update: () => undefined,
  stop: () => undefined,
};

/** A bar on a terminal; nothing under --json or when stderr is a pipe (CI, scripts). */
export const progressFor = (io: Io, json: boolean): Progress => {
  if (json || !io.isTTY || !io.progressStream) return noProgress;
  const bar = new SingleBar(
    {
      format: '{label} {bar} {percentage}% | {value}/{total}',
      stream: io.progressStream,
      hideCursor: true,
      clearOnComplete: true,
    },
    Presets.shades_classic,
  );
  let shown = false;
  return {
    start(total, label) {
      if (shown) bar.stop();
      bar.start(Math.max(1, total), 0, { label });
      shown = true;
    },
    update(done) {
      if (shown) bar.update(done);
    },
    stop() {
      if (shown) bar.stop();
      shown = false;
    },
  };
};
