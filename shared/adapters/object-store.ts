/**
 * An object's text, whole or in pieces to be written one after the other (a feed: its head and
 * items). A large object is best given in pieces: V8 makes a string over 128 KB in a space of its
 * own, a millisecond each, and a piece-wise body is never joined into one.
 */
export type ObjectBody = string | readonly BodyPiece[];

/** A piece of a body: text, or bytes already encoded (UTF-8), such as a feed's kept items. */
export type BodyPiece = string | Uint8Array;

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
  /**
   * The object's bytes in a buffer the store reads other objects into once they are released, or
   * undefined when there is none: for reading many large objects (a run's feeds) without a new
   * buffer for each. Optional; `borrowObject` falls back to `get`.
   */
  borrow?(key: string): Promise<Borrowed | undefined>;
}

/** Bytes lent by a store: valid until `release()`, which must come only once nothing reads them. */
export interface Borrowed {
  readonly bytes: Uint8Array;
  release(): void;
}

/** The object's bytes, borrowed where the store lends them, else read with `get` (release does nothing). */
export const borrowObject = async (objects: ObjectStore, key: string): Promise<Borrowed | undefined> => {
  if (objects.borrow) return objects.borrow(key);
  const bytes = await objects.get(key);
  return bytes && { bytes, release: () => undefined };
};

/** The pieces of a body. */
export const piecesOf = (body: ObjectBody): readonly BodyPiece[] =>
  typeof body === 'string' ? [body] : body;

/** A piece's size in bytes. */
export const pieceBytes = (piece: BodyPiece): number =>
  typeof piece === 'string' ? Buffer.byteLength(piece) : piece.byteLength;

/**
 * Bodies' UTF-8 bytes one after the other in one buffer (from `allocate`), pieces encoded in place,
 * with where each body ends.
 */
export const encodeBodies = (
  bodies: readonly ObjectBody[],
  allocate: (size: number) => Buffer = Buffer.allocUnsafe,
): { bytes: Buffer; ends: number[] } => {
  let size = 0;
  for (const body of bodies) for (const piece of piecesOf(body)) size += pieceBytes(piece);
  const bytes = allocate(size);
  const ends: number[] = [];
  let at = 0;
  for (const body of bodies) {
    for (const piece of piecesOf(body)) {
      if (typeof piece === 'string') at += bytes.write(piece, at);
      else {
        bytes.set(piece, at);
        at += piece.byteLength;
      }
    }
    ends.push(at);
  }
  return { bytes, ends };
};

/** A body's UTF-8 bytes in one buffer. */
export const bytesOf = (body: ObjectBody): Buffer =>
  typeof body === 'string' ? Buffer.from(body) : encodeBodies([body]).bytes;

/**
 * A record the publisher keeps beside the site (`_publish/…`, JSON with its format's `version` and
 * the `site` it describes), or undefined when there is none, it does not parse, or it is of another
 * version or site: the reader then works without it.
 */
export const parseRecord = <T extends { version: number; site: string }>(
  bytes: Uint8Array | undefined,
  version: number,
  siteUrl: string,
): T | undefined => {
  if (!bytes) return undefined;
  try {
    const record = JSON.parse(Buffer.from(bytes).toString('utf8')) as T | null;
    return record?.version === version && record.site === siteUrl ? record : undefined;
  } catch {
    return undefined;
  }
};
