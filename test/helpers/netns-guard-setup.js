module.exports = require('./netns-guard').setup;
