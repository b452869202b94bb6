/**
 * The "before" side of `--before <rev>` (README, "Cost per million messages"): a detached git
 * worktree of <rev> in a temp dir, this checkout's node_modules linked into it and this checkout's
 * measuring code (test/bench/*.ts, test/support/*.ts) copied over the worktree's own, so that the
 * two sides of a comparison differ only in the code the tasks run (service/). The worktree goes
 * again on `remove()`, or on exit if the bench is stopped before that.
 */
import { execFile, execFileSync } from 'node:child_process';
import { rmSync, unlinkSync } from 'node:fs';
import { copyFile, mkdir, mkdtemp, readdir, symlink } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('../../', import.meta.url));
/** Copied from this checkout over the worktree's own: the bench and the helpers it loads. */
const MEASURING_DIRS = ['test/bench', 'test/support'];

export interface BeforeTree {
  /** As given, and the commit it named. */
  rev: string;
  commit: string;
  /** The worktree: pass as `root` to startChild. */
  root: string;
  remove(): void;
}

const git = (args: string[]): Promise<string> =>
  new Promise((resolve, reject) =>
    execFile('git', args, { cwd: ROOT, encoding: 'utf8' }, (err, stdout, stderr) => (err ? reject(new Error(`git ${args.join(' ')}: ${stderr.trim() || err.message}`)) : resolve(stdout))),
  );

export async function prepareBefore(rev: string): Promise<BeforeTree> {
  const commit = (await git(['rev-parse', '--verify', '--quiet', `${rev}^{commit}`]).catch(() => '')).trim();
  if (!commit) throw new Error(`--before ${rev}: not a commit here`);
  const root = await mkdtemp(join(tmpdir(), 'bench-before-'));
  let removed = false;
  const remove = (): void => {
    if (removed) return;
    removed = true;
    process.removeListener('exit', remove);
    // The link first, so that nothing below can reach into this checkout's node_modules.
    try {
      unlinkSync(join(root, 'node_modules'));
    } catch {
      // not linked yet
    }
    try {
      execFileSync('git', ['worktree', 'remove', '--force', root], { cwd: ROOT, stdio: 'ignore' });
    } catch {
      // not added (or gone already): the directory still goes, and git forgets it on its next prune
    }
    rmSync(root, { recursive: true, force: true });
  };
  process.on('exit', remove);
  try {
    await git(['worktree', 'add', '--detach', root, commit]);
    await symlink(join(ROOT, 'node_modules'), join(root, 'node_modules'), 'dir');
    for (const dir of MEASURING_DIRS) {
      await mkdir(join(root, dir), { recursive: true });
      for (const name of (await readdir(join(ROOT, dir))).filter((f) => f.endsWith('.ts'))) await copyFile(join(ROOT, dir, name), join(root, dir, name));
    }
  } catch (err) {
    remove();
    throw err;
  }
  return { rev, commit, root, remove };
}
