import { createHash } from 'node:crypto';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  NoSuchKey,
  NotFound,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { traced } from '../tracing.js';
import { bytesOf, type ObjectStore } from './object-store.js';

const sha256 = (bytes: Uint8Array) => createHash('sha256').update(bytes).digest('hex');

/** Pages change when events do; feeds are polled. Short caches, revalidated with ETags. */
const cacheControlFor = (contentType: string): string =>
  contentType.startsWith('text/html') ? 'public, max-age=60, must-revalidate' : 'public, max-age=300';

/**
 * The site bucket. Each object carries the SHA-256 of its bytes as metadata, so an unchanged
 * page costs a HEAD, not a PUT (and its ETag and Last-Modified stay put for readers' caches).
 */
export const makeS3ObjectStore = (client: S3Client, bucket: string): ObjectStore => ({
  async putIfChanged(key, body, contentType) {
    const bytes = bytesOf(body);
    const digest = sha256(bytes);
    try {
      const head = await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
      if (head.Metadata?.sha256 === digest) return false;
    } catch (error) {
      if (!(error instanceof NotFound) && (error as Error).name !== 'NotFound') throw error;
    }
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: key,
        Body: bytes,
        ContentType: contentType,
        CacheControl: cacheControlFor(contentType),
        Metadata: { sha256: digest },
      }),
    );
    return true;
  },
  async remove(key) {
    try {
      await client.send(new HeadObjectCommand({ Bucket: bucket, Key: key }));
    } catch (error) {
      if (error instanceof NotFound || (error as Error).name === 'NotFound') return false;
      throw error;
    }
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    return true;
  },
  async get(key) {
    try {
      const out = await client.send(new GetObjectCommand({ Bucket: bucket, Key: key }));
      return await out.Body?.transformToByteArray();
    } catch (error) {
      if (error instanceof NoSuchKey || (error as Error).name === 'NoSuchKey') return undefined;
      throw error;
    }
  },
});

export const createS3Client = (): S3Client => traced(new S3Client({}));
