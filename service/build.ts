/**
 * Builds the production service: `service/src/main.ts` and what it imports, bundled into one ES
 * module of plain JavaScript (dependencies stay in node_modules). The image runs that file with node,
 * no transpiler at run time, and holds nothing main.ts does not import: not the simulator, the local
 * stack, the operator tools or any test (test/infra/image.test.ts checks it from the metafile).
 *
 *   npm run build:service            → dist/service/main.js (+ .map, meta.json)
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build, type Metafile } from 'esbuild';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

/** Bundles the service into `outdir`; returns the metafile (every input file that went in). */
export async function buildService(outdir: string): Promise<Metafile> {
  mkdirSync(outdir, { recursive: true });
  const result = await build({
    entryPoints: [join(ROOT, 'service/src/main.ts')],
    bundle: true,
    platform: 'node',
    // The image runs Node 22; this machine and CI run Node 20: the output runs on both.
    target: 'node20',
    format: 'esm',
    packages: 'external',
    sourcemap: true,
    outfile: join(outdir, 'main.js'),
    metafile: true,
    logLevel: 'warning',
  });
  writeFileSync(join(outdir, 'meta.json'), JSON.stringify(result.metafile));
  return result.metafile;
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  await buildService(resolve(process.argv[2] ?? join(ROOT, 'dist/service')));
}
