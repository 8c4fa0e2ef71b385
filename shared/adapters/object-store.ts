/**
 * An object's text, whole or in pieces to be written one after the other (a feed: its head and
 * items). A large object is best given in pieces: V8 makes a string over 128 KB in a space of its
 * own, a millisecond each, and a piece-wise body is never joined into one.
 */
export type ObjectBody = string | readonly string[];

/** Where the site and feeds are written: S3 in AWS, a folder locally. */
export interface ObjectStore {
  /** How many writes it takes at once to be kept busy (the publisher's default: 32). */
  readonly writesInFlight?: number;
  /** Writes the object (UTF-8) unless the stored bytes are identical. Returns whether it wrote. */
  putIfChanged(key: string, body: ObjectBody, contentType: string): Promise<boolean>;
  /** Removes the object. Returns whether there was one. */
  remove(key: string): Promise<boolean>;
  /** The object's bytes, or undefined when there is none. */
  get(key: string): Promise<Uint8Array | undefined>;
}

/** The pieces of a body. */
export const piecesOf = (body: ObjectBody): readonly string[] => (typeof body === 'string' ? [body] : body);

/** A body's UTF-8 bytes in one buffer, its pieces encoded one after the other. */
export const bytesOf = (body: ObjectBody): Buffer => {
  if (typeof body === 'string') return Buffer.from(body);
  let size = 0;
  for (const piece of body) size += Buffer.byteLength(piece);
  const bytes = Buffer.allocUnsafe(size);
  let at = 0;
  for (const piece of body) at += bytes.write(piece, at);
  return bytes;
};
