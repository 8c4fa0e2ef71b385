import { randomBytes } from 'node:crypto';
import { PutSecretValueCommand } from '@aws-sdk/client-secrets-manager';
import { parseTokenSecret, SECRET_MAX_AGE_MS } from '../../shared/adapters/token-secret.js';
import type { LinkKeySpec } from '../../shared/domain/tokens.js';
import type { LinkRotation, Progress } from '../backend.js';
import { CliError } from '../errors.js';
import type { AwsContext } from './context.js';
import { readTokenSecret } from './token-keys.js';

/** A minute more than a container keeps the secret: clocks and cold starts are not exact. */
export const PROMOTE_AFTER_MS = SECRET_MAX_AGE_MS + 60_000;

type Signing = LinkKeySpec['signing'][number];

/** `k7` → 7; other key ids (written by hand) count as 0, the oldest. */
const generationOf = (kid: string): number => {
  const m = /^k(\d{1,9})$/.exec(kid);
  return m ? Number(m[1]) : 0;
};

const newest = (signing: readonly Signing[]): Signing =>
  signing.reduce((a, b) => (generationOf(b.kid) > generationOf(a.kid) ? b : a));

const nextKid = (signing: readonly Signing[]): string => {
  const taken = new Set(signing.map((s) => s.kid));
  let n = Math.max(...signing.map((s) => generationOf(s.kid))) + 1;
  while (taken.has(`k${n}`)) n += 1;
  return `k${n}`;
};

const serialize = (spec: LinkKeySpec): string =>
  JSON.stringify({
    id: spec.id,
    ...(spec.legacyIds ? { legacyIds: true } : {}),
    ...(spec.legacyLinks ? { legacyLinks: true } : {}),
    signing: spec.signing,
  });

const summary = (spec: LinkKeySpec) => ({
  current: spec.signing[0].kid,
  accepted: spec.signing.map((s) => s.kid),
});

/**
 * Rotates the link-signing key in the steps of "Link keys" (docs/deploy.md; docs/operations-aws.md), each a new
 * version of the secret, so that no function ever meets a link signed by a key it does not know:
 *
 * 1. add a new key `k<n+1>` second (a plain-string secret first becomes the JSON it stands for,
 *    legacy flags set, the id root unchanged);
 * 2. once every function has re-read the secret (SECRET_MAX_AGE_MS, plus a minute, after step 1's
 *    version was written), make it first: new links name it;
 * 3. with `retireOld`, drop every other key and `legacyLinks`: links they signed then answer 410.
 *
 * Where it stands is read from the secret itself (a key newer than the first, listed behind it,
 * is a step 1 not yet promoted), so a run stopped while waiting, run again, finishes that rotation
 * rather than starting another; a run stopped after step 2 rotates once more (one more key and
 * wait, nothing broken). Without `wait` it stops after step 1 and says when to run it again.
 */
export const rotateLinks = async (
  ctx: AwsContext,
  options: { retireOld: boolean; wait?: boolean },
  progress?: Progress,
): Promise<LinkRotation> => {
  const secretId = ctx.outputs.get('TokenSecretArn');
  const read = await readTokenSecret(ctx);
  let spec: LinkKeySpec;
  try {
    spec = parseTokenSecret(read.raw);
  } catch (error) {
    throw new CliError(`the stored token secret cannot be read: ${(error as Error).message}`, {
      cause: error,
    });
  }
  const write = async (next: LinkKeySpec) => {
    await ctx.clients.secrets.send(
      new PutSecretValueCommand({ SecretId: secretId, SecretString: serialize(next) }),
    );
    spec = next;
  };
  const steps: LinkRotation['steps'] = [];
  let writtenAt = read.createdAt?.getTime() ?? ctx.now();

  const isPending = () => newest(spec.signing).kid !== spec.signing[0].kid;
  if (!isPending()) {
    const [current, ...older] = spec.signing;
    await write({
      ...spec,
      signing: [
        current,
        { kid: nextKid(spec.signing), secret: randomBytes(32).toString('base64url') },
        ...older,
      ],
    });
    writtenAt = ctx.now();
    steps.push('added');
  }

  if (isPending()) {
    const fresh = newest(spec.signing);
    const readyAt = writtenAt + PROMOTE_AFTER_MS;
    if (ctx.now() < readyAt) {
      if (options.wait === false) {
        return {
          ...summary(spec),
          pending: { kid: fresh.kid, after: new Date(readyAt).toISOString() },
          steps: steps.length > 0 ? steps : ['nothing'],
        };
      }
      const total = Math.ceil((readyAt - ctx.now()) / 1000);
      progress?.start(total, `waiting for every function to learn ${fresh.kid}`);
      for (let left = total; left > 0; left -= 1) {
        await ctx.sleep(1000);
        progress?.update(total - left + 1);
      }
      progress?.stop();
    }
    await write({ ...spec, signing: [fresh, ...spec.signing.filter((s) => s.kid !== fresh.kid)] });
    steps.push('promoted');
  }

  if (options.retireOld && spec.signing.length > 1) {
    await write({ ...spec, legacyLinks: false, signing: [spec.signing[0]] });
    steps.push('retired');
  }
  return { ...summary(spec), steps: steps.length > 0 ? steps : ['nothing'] };
};
