import { isTombstone, type StoredEvent } from './event.js';
import { eventPath } from './site.js';

/** Version of the change message body; bumped on any breaking change (docs/change-message.schema.json). */
export const CHANGE_SCHEMA_VERSION = '1.0';

export type ChangeType = 'created' | 'updated' | 'deleted';

export interface StringAttribute {
  DataType: 'String' | 'String.Array';
  StringValue: string;
}

/** What goes to the SNS topic for one change. */
export interface ChangeMessage {
  body: string;
  attributes: Record<string, StringAttribute>;
  /** For logs and de-duplication: `<id>@<revision>`. */
  key: string;
}

/** The kind of change between two images of an event item, or undefined when nothing visible changed. */
export const changeTypeOf = (
  oldImage: StoredEvent | undefined,
  newImage: StoredEvent | undefined,
): ChangeType | undefined => {
  const wasLive = oldImage !== undefined && !isTombstone(oldImage);
  const isLive = newImage !== undefined && !isTombstone(newImage);
  if (isLive && !wasLive) return 'created';
  if (isLive && wasLive) return newImage.revision > oldImage.revision ? 'updated' : undefined;
  if (!isLive && wasLive) return 'deleted';
  return undefined;
};

/** `https://site/news/2016/11/16/<slug>.html`: the event's page, as the seed archive lays it out. */
export const permalinkOf = (siteUrl: string, id: string): string =>
  `${siteUrl.replace(/\/+$/, '')}/${eventPath(id)}`;

/**
 * The message integrators receive. Consumers de-duplicate on `id` + `revision`: delivery is at
 * least once, and a revision never changes meaning.
 */
export const buildChangeMessage = (
  changeType: ChangeType,
  image: StoredEvent,
  siteUrl: string,
  previousRevision?: number,
): ChangeMessage => {
  const body = {
    schemaVersion: CHANGE_SCHEMA_VERSION,
    changeType,
    id: image.id,
    revision: image.revision,
    ...(previousRevision !== undefined ? { previousRevision } : {}),
    permalink: permalinkOf(siteUrl, image.id),
    changedAt: image.updatedAt,
    event: image,
  };
  const attributes: Record<string, StringAttribute> = {
    changeType: { DataType: 'String', StringValue: changeType },
    tags: { DataType: 'String.Array', StringValue: JSON.stringify(image.tags.map((t) => t.slug)) },
  };
  // SNS refuses empty attribute values, so an event without a topic carries no topic attribute.
  if (image.topic) attributes.topic = { DataType: 'String', StringValue: image.topic };
  return { body: JSON.stringify(body), attributes, key: `${image.id}@${image.revision}` };
};
