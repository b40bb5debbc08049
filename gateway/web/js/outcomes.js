// outcomes.js - what a visitor reads on the kiosk after a scan, in Korean
// and English at once (visitors are not asked to pick a language).  The
// reason codes are the gateway's (checkin.c, credential.c); an unknown one
// still gets the red screen and "ask the staff".

export const OUTCOMES = {
  'accepted': { ko: '체크인 완료', en: 'Checked in', hint: { ko: '들어가세요.', en: 'Please go in.' } },
  'duplicate': { ko: '이미 체크인했습니다', en: 'Already checked in', hint: { ko: '이미 기록되어 있습니다. 들어가세요.', en: 'You are recorded already. Please go in.' } },
  'rejected': { ko: '체크인 안 됨', en: 'Not checked in' },
  'not-collecting': { ko: '지금은 기록하지 않습니다', en: 'Check-in is not needed now', hint: { ko: '들어가세요.', en: 'Please go in.' } },
};

export const REASONS = {
  'malformed': { ko: '읽을 수 없는 코드입니다. 안심 패스를 다시 보여 주세요.', en: 'This code cannot be read. Show your Anshim pass again.' },
  'bad-issuer-signature': { ko: '위조되었거나 잘못된 패스입니다. 직원에게 문의하세요.', en: 'This pass is forged or invalid. Please ask the staff.' },
  'bad-holder-signature': { ko: '복사되었거나 위조된 패스입니다. 앱의 실시간 패스를 보여 주세요.', en: 'This pass is copied or forged. Show the live pass in the app.' },
  'expired': { ko: '기간이 지난 패스입니다. 앱에서 새로 받으세요.', en: 'This pass has expired. Renew it in the app.' },
  'stale': { ko: '오래된 화면입니다(캡처 화면). 앱의 실시간 패스를 보여 주세요.', en: 'This screen is old (a screenshot?). Show the live pass in the app.' },
  'not-yet-valid': { ko: '아직 쓸 수 없는 패스입니다. 휴대전화 시계를 확인하세요.', en: 'This pass is not valid yet. Check the phone\'s clock.' },
  'wrong-form': { ko: '이 종류의 패스는 여기서 쓸 수 없습니다.', en: 'This kind of pass cannot be used here.' },
  'bad-token-signature': { ko: '다른 사람의 패스를 복사한 것입니다. 본인 앱의 패스를 보여 주세요.', en: 'This pass was copied from someone else. Show the pass in your own app.' },
  'unknown-issuer': { ko: '이 게이트웨이가 모르는 발급처의 패스입니다. 직원에게 문의하세요.', en: 'This gateway does not know who issued this pass. Please ask the staff.' },
  'v1-retired': { ko: '예전 방식의 패스는 더 이상 쓸 수 없습니다. 앱을 업데이트하세요.', en: 'Old-style passes are no longer accepted. Update the app.' },
  'revoked': { ko: '취소된 패스입니다. 직원에게 문의하세요.', en: 'This pass has been revoked. Please ask the staff.' },
  'oversized': { ko: '코드가 너무 깁니다. 안심 패스를 보여 주세요.', en: 'This code is too long. Show your Anshim pass.' },
  'storage-full': { ko: '게이트웨이 저장 공간이 가득 찼습니다. 직원에게 알려 주세요.', en: 'The gateway\'s storage is full. Please tell the staff.' },
  'storage-error': { ko: '기록하지 못했습니다. 직원에게 알려 주세요.', en: 'It could not be recorded. Please tell the staff.' },
  'out-of-memory': { ko: '기록하지 못했습니다. 잠시 후 다시 스캔하세요.', en: 'It could not be recorded. Scan again in a moment.' },
};

export const UNKNOWN_REASON = { ko: '직원에게 문의하세요.', en: 'Please ask the staff.' };

export function reasonText(code) {
  return REASONS[code] || UNKNOWN_REASON;
}
