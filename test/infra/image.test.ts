/**
 * The production image's contents, checked without Docker: service/Dockerfile builds with
 * service/build.ts, so building here shows exactly which sources go in, and the bundle is run with
 * plain node (no transpiler) to show it starts.
 */
import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Metafile } from 'esbuild';
import { buildService } from '../../service/build.js';

// Inside the repository, as /app/dist is in the image: the bundle finds node_modules from there.
mkdirSync('.cache', { recursive: true });
const outdir = mkdtempSync(resolve('.cache', 'service-image-'));
let meta: Metafile;

beforeAll(async () => {
  meta = await buildService(outdir);
}, 60_000);
afterAll(() => rmSync(outdir, { recursive: true, force: true }));

describe('the production image', () => {
  it('holds the service only: no simulator, local stack, operator tools or tests', () => {
    const inputs = Object.keys(meta.inputs);
    expect(inputs).toContain('service/src/main.ts');
    expect(inputs.some((f) => f.startsWith('service/src/smpp/'))).toBe(true);
    const strays = inputs.filter((f) => /^service\/src\/(sim|local|tools)\//.test(f) || f.startsWith('test/') || f.startsWith('infra/'));
    expect(strays).toEqual([]);
    // Dependencies stay in node_modules (installed with --omit=dev), never bundled.
    expect(inputs.filter((f) => f.includes('node_modules'))).toEqual([]);
  });

  it('runs as compiled JavaScript with plain node: a bad configuration exits 78 with every problem listed', async () => {
    const { code, stderr } = await new Promise<{ code: number | null; stderr: string }>((resolve) => {
      const child = execFile(process.execPath, [join(outdir, 'main.js')], { env: { PATH: process.env['PATH'] ?? '' }, cwd: process.cwd(), timeout: 20_000 }, () => undefined);
      let err = '';
      child.stderr?.on('data', (d: Buffer) => (err += d.toString()));
      child.on('exit', (c) => resolve({ code: c, stderr: err }));
    });
    expect(code).toBe(78);
    expect(stderr).toContain('invalid configuration');
    expect(stderr).toContain('\n  - SMPP_HOST ');
    expect(stderr).toContain('\n  - OUTBOUND_QUEUE_URL ');
  });

  it('is built and started that way by the Dockerfile, and tsx is not a production dependency', () => {
    const dockerfile = readFileSync('service/Dockerfile', 'utf8');
    expect(dockerfile).toContain('RUN npx tsx service/build.ts /app/dist');
    expect(dockerfile).toContain('CMD ["node", "--enable-source-maps", "dist/main.js"]');
    expect(dockerfile).not.toMatch(/CMD .*tsx/);
    const pkg = JSON.parse(readFileSync('package.json', 'utf8')) as { dependencies: Record<string, string> };
    expect(Object.keys(pkg.dependencies)).not.toContain('tsx');
  });
});
