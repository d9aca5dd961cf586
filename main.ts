import { synthesizeApp } from './stacks/app';

synthesizeApp({ projectRoot: process.cwd(), env: process.env });
