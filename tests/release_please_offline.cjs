// release-please's own code (node_modules/release-please, pinned in package-lock.json),
// run offline on this repository's release-please-config.json and manifest: a fake GitHub
// serves the files from the work tree, the commits come from the command line. Prints what
// release-please would do: its release pull request (title, branch, version) and, once that
// is merged, the release (tag, name). Used by tests/test_release_please.py.
//
//   node tests/release_please_offline.cjs <repository root> '["feat: x", "fix: y"]'
'use strict';
const fs = require('fs');
const path = require('path');

const root = process.argv[2];
const messages = JSON.parse(process.argv[3]);
const src = path.join(__dirname, '..', 'node_modules', 'release-please', 'build', 'src');
const {Manifest} = require(path.join(src, 'manifest.js'));
const {buildStrategy} = require(path.join(src, 'factory.js'));
const {parseConventionalCommits} = require(path.join(src, 'commit.js'));
const {TagName} = require(path.join(src, 'util', 'tag-name.js'));
const {Version} = require(path.join(src, 'version.js'));
const {FileNotFoundError} = require(path.join(src, 'errors', 'index.js'));
const {setLogger} = require(path.join(src, 'util', 'logger.js'));

const quiet = {error() {}, warn() {}, info() {}, debug() {}, trace() {}};
setLogger(quiet);

function contents(file) {
  const full = path.join(root, file);
  if (!fs.existsSync(full)) throw new FileNotFoundError(file);
  const text = fs.readFileSync(full, 'utf8');
  return {sha: 'f'.repeat(40), content: Buffer.from(text).toString('base64'), parsedContent: text, mode: '100644'};
}

const github = {
  repository: {owner: 'acme', repo: 'dataops', defaultBranch: 'main'},
  getFileContentsOnBranch: async (file) => contents(file),
  getFileJson: async (file) => JSON.parse(contents(file).parsedContent),
  findFilesByFilenameAndRef: async () => [],
  findFilesByGlobAndRef: async () => [],
};

(async () => {
  const manifest = await Manifest.fromManifest(github, 'main');
  const config = manifest.repositoryConfig['.'];
  const strategy = await buildStrategy({github, ...config, path: '.', targetBranch: 'main', logger: quiet});
  const released = JSON.parse(fs.readFileSync(path.join(root, '.release-please-manifest.json'), 'utf8'))['.'];
  const latest = {tag: new TagName(Version.parse(released), undefined, '-', true), sha: 'a'.repeat(40), notes: ''};
  const commits = messages.map((message, index) => ({sha: String(index).padStart(40, 'c'), message, files: ['dataops/cli.py']}));
  const pullRequest = await strategy.buildReleasePullRequest(parseConventionalCommits(commits, quiet), latest);
  if (!pullRequest) {
    process.stdout.write(JSON.stringify({pullRequest: null}) + '\n');
    return;
  }
  const merged = {
    headBranchName: pullRequest.headRefName,
    baseBranchName: 'main',
    number: 13,
    title: pullRequest.title.toString(),
    body: pullRequest.body.toString(),
    labels: pullRequest.labels,
    files: [],
    sha: 'd'.repeat(40),
  };
  const release = await strategy.buildRelease(merged);
  process.stdout.write(JSON.stringify({
    pullRequest: {title: merged.title, branch: merged.headBranchName, version: pullRequest.version.toString()},
    release: {tag: release.tag.toString(), name: release.name},
  }) + '\n');
})().catch((error) => {
  process.stderr.write(`${error.stack || error}\n`);
  process.exit(1);
});
