/** Where the site and feeds are written: S3 in AWS, a folder locally. */
export interface ObjectStore {
  /** Writes the object unless the stored bytes are identical. Returns whether it wrote. */
  putIfChanged(key: string, body: string, contentType: string): Promise<boolean>;
  /** Removes the object. Returns whether there was one. */
  remove(key: string): Promise<boolean>;
  /** The object's text (UTF-8), or undefined when there is none. */
  get(key: string): Promise<string | undefined>;
}
