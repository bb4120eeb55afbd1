'use strict';

// Kept equal to package.json's "version" (a test checks it): sent in the User-Agent.
module.exports = { VERSION: '0.2.0' };
