import { fileURLToPath } from 'node:url';

/** The repository root: the service image's build context and the Lambdas' project root. */
export const REPO_ROOT = fileURLToPath(new URL('..', import.meta.url));
