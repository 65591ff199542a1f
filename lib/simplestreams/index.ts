/**
 * A simplestreams reader (the image index format of cloud-images.ubuntu.com and of LXD image servers),
 * apart from the LXD client as LXD keeps `shared/simplestreams` apart from `client/`.
 */
export { SimplestreamsClient, type SimplestreamsClientOptions } from './client.js';
export { type DownloadOptions, type DownloadProgress, type DownloadResult } from './download.js';
export { SimplestreamsError, SimplestreamsErrorCode } from './errors.js';
export {
  SimplestreamsIndexSchema,
  SimplestreamsProductsSchema,
  imageMetadataURL,
  type SimplestreamsImage,
  type SimplestreamsIndex,
  type SimplestreamsIndexEntry,
  type SimplestreamsItem,
  type SimplestreamsProducts,
  type SimplestreamsQuery,
} from './format.js';
export { type RequestOptions as SimplestreamsRequestOptions } from './http.js';
