/** A clock that moves one second per reading, from a fixed start. */
export const steppingClock = (start = '2026-01-01T00:00:00.000Z') => {
  let t = Date.parse(start);
  return () => {
    const now = new Date(t).toISOString();
    t += 1000;
    return now;
  };
};
