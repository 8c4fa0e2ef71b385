import { App } from 'aws-cdk-lib';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../infra/config.js';
import { synthTidings } from '../helpers/synth.js';

const mappings = (context: Record<string, unknown> = {}) => {
  const { template } = synthTidings(context);
  const resources = template.toJSON().Resources as Record<
    string,
    { Type: string; Properties: Record<string, unknown> }
  >;
  return Object.values(resources).filter(
    (r) => r.Type === 'AWS::Lambda::EventSourceMapping' && 'StartingPosition' in r.Properties,
  );
};

describe('streamParallelization', () => {
  it('sets the stream event source parallelization factor, 4 by default', () => {
    const [byDefault] = mappings();
    expect(byDefault?.Properties.ParallelizationFactor).toBe(4);
    const [set] = mappings({ streamParallelization: 7 });
    expect(set?.Properties.ParallelizationFactor).toBe(7);
    // What keeps the order of each event's changes at any factor.
    expect(set?.Properties.BatchSize).toBe(100);
  });

  it('is a whole number from 1 to 10', () => {
    const configOf = (value: unknown) =>
      loadConfig(
        new App({ context: { fromAddress: 'news@example.org', streamParallelization: value } }).node,
      );
    expect(configOf('10').streamParallelization).toBe(10);
    for (const bad of [0, 11, 2.5, 'many'])
      expect(() => configOf(bad)).toThrow(
        new ConfigError(
          'streamParallelization: must be a whole number from 1 to 10 (got ' +
            (typeof bad === 'string' ? `"${bad}"` : String(bad)) +
            ')',
        ),
      );
  });
});
