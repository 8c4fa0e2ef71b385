import { existsSync, readFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

/**
 * The local server by address, not by name: `localhost` can resolve elsewhere (a hosts file, a
 * resolver that answers it), and the commands send the API key.
 */
export const loopbackUrl = (port: number | string): string => `http://127.0.0.1:${port}`;

/** Where the local commands find Tidings: the data folder, a running server's URL, the API key. */
export const localTarget = () => {
  const dataDir = resolve(process.env.TIDINGS_DATA_DIR ?? '.data');
  const keyFile = join(dataDir, 'api-key');
  const apiKey =
    process.env.TIDINGS_API_KEY || (existsSync(keyFile) ? readFileSync(keyFile, 'utf8').trim() : undefined);
  return { dataDir, url: loopbackUrl(process.env.PORT || 3000), apiKey };
};

/**
 * Asks a running `npm start` to do something (`POST <url><path>` with the API key). Undefined when
 * no server answers, so the command can open the data folder itself; a refused key is an error.
 */
export const askServer = async <T>(
  url: string,
  path: string,
  apiKey: string | undefined,
): Promise<T | undefined> => {
  let res: Response;
  try {
    res = await fetch(`${url}${path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${apiKey ?? ''}` },
      signal: AbortSignal.timeout(30 * 60_000),
    });
  } catch {
    return undefined;
  }
  if (res.status === 403) throw new Error(`the server at ${url} refused the API key`);
  if (!res.ok) return undefined;
  return (await res.json()) as T;
};
