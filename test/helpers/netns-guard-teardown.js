module.exports = require('./netns-guard').teardown;
