/** Deterministic tar.gz archives in memory (tar-stream + zlib): what OPA bundles are made of. */
import { gunzipSync, gzipSync } from 'node:zlib';
import { extract, pack } from 'tar-stream';

/** One file of an archive: a slash-separated relative path and its bytes. */
export interface ArchiveFile {
  path: string;
  content: Buffer;
}

/** Packs files (in the given order, mtime 0, mode 0644) into a gzipped tarball. */
export async function writeTarGz(files: readonly ArchiveFile[]): Promise<Buffer> {
  const archive = pack();
  const chunks: Buffer[] = [];
  archive.on('data', (chunk: unknown) => chunks.push(chunk as Buffer));
  const done = new Promise<void>((resolve, reject) => {
    archive.on('end', resolve);
    archive.on('error', reject);
  });
  for (const file of files) {
    await new Promise<void>((resolve, reject) => {
      archive.entry({ name: `/${file.path}`, mode: 0o644, mtime: new Date(0), size: file.content.length }, file.content, (error) => (error ? reject(error) : resolve()));
    });
  }
  archive.finalize();
  await done;
  return gzipSync(Buffer.concat(chunks), { level: 9 });
}

/** Reads every regular file of a gzipped tarball; paths lose their leading slash. */
export async function readTarGz(data: Buffer): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const reader = extract();
  const done = new Promise<void>((resolve, reject) => {
    reader.on('entry', (header, stream, next) => {
      const parts: Buffer[] = [];
      stream.on('data', (chunk: unknown) => parts.push(chunk as Buffer));
      stream.on('end', () => {
        if (header.type === 'file') files.set(header.name.replace(/^\/+/, ''), Buffer.concat(parts));
        next();
      });
      stream.on('error', reject);
    });
    reader.on('finish', resolve);
    reader.on('error', reject);
  });
  reader.end(gunzipSync(data));
  await done;
  return files;
}
