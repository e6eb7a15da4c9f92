/**
 * The driver suite against a real S3 endpoint of the operator's choosing: opt-in, since CI
 * has no such endpoint. Set BERTH_S3_EXTERNAL to a JSON object of s3 driver parameters
 * (region, bucket, regionendpoint, accesskey, secretkey, ...) to run it; each test then uses
 * a fresh rootdirectory under `/berth-external-<pid>-<n>` in that bucket. Without the
 * variable this file registers no test: the endpoint exists only where an operator brings
 * one, and the radosgw run in s3.test.ts is the proof CI gives.
 */
import { parseS3Params, S3Driver } from '../../src/drivers/s3/index.js';
import { runDriverSuite } from './driver-suite.js';

const raw = process.env['BERTH_S3_EXTERNAL'];
let roots = 0;

if (raw !== undefined && raw !== '') {
  const params = JSON.parse(raw) as Record<string, unknown>;
  runDriverSuite('s3 (external endpoint)', async () => {
    roots++;
    const driver = new S3Driver(
      parseS3Params({ ...params, rootdirectory: `/berth-external-${process.pid}-${roots}` }),
      { redirect: false },
    );
    return {
      driver,
      cleanup: async () => {
        // Leave nothing behind in the operator's bucket.
        const top = await driver.list('/').catch(() => []);
        await Promise.all(top.map((path) => driver.delete(path).catch(() => undefined)));
      },
    };
  });
}
