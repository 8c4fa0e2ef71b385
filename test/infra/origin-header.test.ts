import { describe, expect, it } from 'vitest';
import { ENV } from '../../shared/config.js';
import { ORIGIN_HEADER } from '../../shared/domain/signup.js';
import { synthTidings } from '../helpers/synth.js';

/**
 * CloudFront proves to the API that a request came through it with a secret header, and only
 * sign-up, which believes CloudFront-Viewer-Address on that proof, can read the secret.
 */
const { template, stack, nag } = synthTidings();

// biome-ignore lint/suspicious/noExplicitAny: CloudFormation JSON, asserted on structurally
type Cfn = any;
type Resource = { Type: string; Properties: Record<string, Cfn>; DeletionPolicy?: string };
const resources = Object.entries(template.toJSON().Resources as Record<string, Resource>);
const ofType = (type: string) => resources.filter(([, r]) => r.Type === type);

const secrets = ofType('AWS::SecretsManager::Secret').filter(([id]) => id.startsWith('ApiOriginSecret'));
const [secretId, secret] = secrets[0] ?? ['', undefined];
const distribution = () => {
  const [found] = ofType('AWS::CloudFront::Distribution');
  return found?.[1].Properties.DistributionConfig as Cfn;
};
const functions = ofType('AWS::Lambda::Function')
  .filter(([, fn]) => String(fn.Properties.Description).startsWith('Tidings '))
  .map(([, fn]) => ({
    name: String(fn.Properties.Description).replace('Tidings ', ''),
    env: (fn.Properties.Environment?.Variables ?? {}) as Record<string, Cfn>,
    role: fn.Properties.Role['Fn::GetAtt'][0] as string,
  }));
const statementsOf = (role: string) =>
  ofType('AWS::IAM::Policy')
    .filter(([, p]) => JSON.stringify(p.Properties.Roles) === JSON.stringify([{ Ref: role }]))
    .flatMap(([, p]) => p.Properties.PolicyDocument.Statement as Record<string, Cfn>[]);
const namesSecret = (statement: Record<string, Cfn>) =>
  JSON.stringify(statement.Resource).includes(JSON.stringify({ Ref: secretId }));

describe('the origin secret', () => {
  it('is one generated secret of 48 letters and digits, deleted with the stack', () => {
    expect(secrets).toHaveLength(1);
    expect(secret?.Properties.GenerateSecretString).toEqual({
      PasswordLength: 48,
      ExcludePunctuation: true,
      IncludeSpace: false,
    });
    expect(secret?.DeletionPolicy).toBe('Delete');
  });

  it('acknowledges the rotation rule with its reason, and passes the AwsSolutions checks', () => {
    const construct = stack.node.findAll().find((c) => c.node.path === 'Tidings/Api/OriginSecret');
    const acknowledged = construct?.node.metadata.find((m) => m.type === 'aws:cdk:acknowledged-rules');
    expect(
      Object.keys((acknowledged?.data as object) ?? {}).some((id) => id.endsWith('AwsSolutions-SMG4')),
    ).toBe(true);
    const onSecret = nag.violations.filter((v) =>
      v.violatingResources.some((r) => (r.constructPath ?? '').includes('OriginSecret')),
    );
    expect(onSecret).toEqual([]);
  });
});

describe("the distribution's API origin", () => {
  const apiOriginId = () =>
    (distribution().CacheBehaviors as Cfn[]).find((b) => b.PathPattern === '/api/*').TargetOriginId;

  it(`sends ${ORIGIN_HEADER} with the secret's value as a dynamic reference, never the value itself`, () => {
    const origin = (distribution().Origins as Cfn[]).find((o) => o.Id === apiOriginId());
    expect(origin.OriginCustomHeaders).toEqual([
      {
        HeaderName: ORIGIN_HEADER,
        HeaderValue: {
          'Fn::Join': ['', ['{{resolve:secretsmanager:', { Ref: secretId }, ':SecretString:::}}']],
        },
      },
    ]);
  });

  it('is the only origin that carries it (the bucket never sees the secret)', () => {
    const others = (distribution().Origins as Cfn[]).filter((o) => o.Id !== apiOriginId());
    expect(others.length).toBeGreaterThan(0);
    for (const origin of others) expect(origin.OriginCustomHeaders).toBeUndefined();
  });
});

describe('functions and the origin secret', () => {
  it(`tell sign-up its ARN in ${ENV.originSecretArn}, and no other function`, () => {
    const told = functions.filter((f) => ENV.originSecretArn in f.env);
    expect(told.map((f) => f.name)).toEqual(['create-subscription']);
    expect(told[0]?.env[ENV.originSecretArn]).toEqual({ Ref: secretId });
    for (const f of functions.filter((f) => f.name !== 'create-subscription')) {
      expect(JSON.stringify(f.env), f.name).not.toContain(secretId);
    }
  });

  it('let sign-up read that secret and nothing more of it, and no other function touch it', () => {
    for (const f of functions) {
      const grants = statementsOf(f.role).filter(namesSecret);
      if (f.name !== 'create-subscription') {
        expect(grants, f.name).toEqual([]);
        continue;
      }
      expect(grants).toEqual([
        {
          Effect: 'Allow',
          Action: ['secretsmanager:GetSecretValue', 'secretsmanager:DescribeSecret'],
          Resource: { Ref: secretId },
        },
      ]);
    }
  });
});
