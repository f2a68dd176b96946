/**
 * The seeded pseudo-random source of the global model: the only randomness in training
 * (initialisation, window sampling), so the same seed gives the same weights and forecasts.
 */

/** A deterministic random source. */
export interface Random {
  /** Uniform in [0, 1). */
  next(): number;
  /** Uniform integer in [0, n). */
  int(n: number): number;
  /** Standard normal (Box–Muller). */
  normal(): number;
}

/**
 * A seeded generator: SplitMix32 to spread the seed, then mulberry32 (a 32-bit generator with a
 * full 2³² period, ample for sampling a few million training windows).
 *
 * @param seed any finite number; only its low 32 bits after rounding matter
 * @returns a generator; two generators from the same seed give the same sequence
 */
export function seededRandom(seed: number): Random {
  let state = mix32(Math.trunc(Number.isFinite(seed) ? seed : 0) >>> 0);
  const next = (): number => {
    state = (state + 0x6d2b79f5) | 0;
    let z = state;
    z = Math.imul(z ^ (z >>> 15), z | 1);
    z ^= z + Math.imul(z ^ (z >>> 7), z | 61);
    return ((z ^ (z >>> 14)) >>> 0) / 4294967296;
  };
  let spare: number | undefined;
  return {
    next,
    int: (n) => Math.min(n - 1, Math.floor(next() * n)),
    normal: () => {
      if (spare !== undefined) {
        const value = spare;
        spare = undefined;
        return value;
      }
      const u = 1 - next();
      const radius = Math.sqrt(-2 * Math.log(u));
      const angle = 2 * Math.PI * next();
      spare = radius * Math.sin(angle);
      return radius * Math.cos(angle);
    },
  };
}

function mix32(seed: number): number {
  let z = (seed + 0x9e3779b9) | 0;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  return (z ^ (z >>> 16)) >>> 0;
}
