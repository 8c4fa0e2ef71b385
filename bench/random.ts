/** Seeded randomness for the benchmarks' corpora: the same seed gives the same corpus on any machine. */

/** mulberry32: small, fast, good enough for test data. Numbers in [0, 1). */
export const rng = (seed: number): (() => number) => {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
};

/** Draws indexes 0 to n - 1 with probability proportional to 1/(index + 1) (Zipf, s = 1). */
export const zipf = (n: number, random: () => number): (() => number) => {
  const cumulative = new Float64Array(n);
  let sum = 0;
  for (let k = 0; k < n; k++) {
    sum += 1 / (k + 1);
    cumulative[k] = sum;
  }
  return () => {
    const x = random() * sum;
    let lo = 0;
    let hi = n - 1;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if ((cumulative[mid] as number) < x) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  };
};

/** `count` different values from `draw`, in the order first drawn. */
export const distinct = (count: number, draw: () => number): number[] => {
  const picked = new Set<number>();
  while (picked.size < count) picked.add(draw());
  return [...picked];
};
