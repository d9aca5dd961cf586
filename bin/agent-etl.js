#!/usr/bin/env node
require('../dist/agent-etl.js');
