"""A held-out check of the PII detector: 50 utterances written by someone other than its
author, after its rules were tuned, and never used to tune them. Reported by
voxline.bench.redaction as `quality_heldout` (not asserted: it is small, and a miss here is
a finding, not a regression). Run this file to rewrite pii_heldout.jsonl."""
import json
from pathlib import Path

rows = [
 ("hey it's dana whitfield i need to move my cleaning", [("NAME","dana whitfield")]),
 ("the best number for me is nine one seven, two two three, four four five six", [("PHONE","nine one seven, two two three, four four five six")]),
 ("you can text 646-555-0142 anytime after noon", [("PHONE","646-555-0142")]),
 ("i was born on july fourth nineteen seventy six", [("DOB","july fourth nineteen seventy six")]),
 ("date of birth is 02/11/1988", [("DOB","02/11/1988")]),
 ("my email's sarah underscore lee at yahoo dot com", [("EMAIL","sarah underscore lee at yahoo dot com")]),
 ("send it to p.nguyen@outlook.com please", [("EMAIL","p.nguyen@outlook.com")]),
 ("the card is 5555 5555 5555 4444 expiring next june", [("CARD","5555 5555 5555 4444")]),
 ("visa four one one one one one one one one one one one one one one one", [("CARD","four one one one one one one one one one one one one one one one")]),
 ("my social security number is 078-05-1120", [("SSN","078-05-1120")]),
 ("last four of my social? no the whole thing is two one nine oh nine nine nine nine nine", [("SSN","two one nine oh nine nine nine nine nine")]),
 ("we're at 1600 pennsylvania avenue", [("ADDRESS","1600 pennsylvania avenue")]),
 ("send the forms to 77 maple drive apartment four", [("ADDRESS","77 maple drive")]),
 ("my husband robert will drive me", [("NAME","robert")]),
 ("the appointment is under the name of kevin o'brien", [("NAME","kevin o'brien")]),
 ("i'd like something around ten thirty on tuesday", []),
 ("is it forty dollars for the consultation", []),
 ("i take two hundred fifty milligrams every morning", []),
 ("do you have anything the week of may twelfth", []),
 ("my daughter is seven and needs a checkup", []),
 ("can you tell me if dr patel is in on friday", [("NAME","patel")]),
 ("we moved here in twenty nineteen", []),
 ("it hurts about a six out of ten", []),
 ("is suite two hundred on the second floor", []),
 ("press one for english", []),
 ("my number changed, it's now three one two, five five five, zero one eight eight", [("PHONE","three one two, five five five, zero one eight eight")]),
 ("born nineteen ninety two, october the ninth", [("DOB","nineteen ninety two, october the ninth")]),
 ("this is gregory hall returning your call", [("NAME","gregory hall")]),
 ("my name's ana", [("NAME","ana")]),
 ("address is 5 oak court", [("ADDRESS","5 oak court")]),
 ("reach me at tom at example dot org", [("EMAIL","tom at example dot org")]),
 ("amex three seven eight two eight two two four six three one zero zero zero five", [("CARD","three seven eight two eight two two four six three one zero zero zero five")]),
 ("i'll be there in fifteen minutes", []),
 ("the copay was twenty five", []),
 ("i need a refill of my lisinopril ten milligram", []),
 ("what time do you close on saturdays", []),
 ("call back at 2125550100", [("PHONE","2125550100")]),
 ("my dob is the twenty first of january two thousand one", [("DOB","the twenty first of january two thousand one")]),
 ("it's jennifer, jennifer martinez", [("NAME","jennifer"),("NAME","jennifer martinez")]),
 ("i live on 3021 sunset boulevard", [("ADDRESS","3021 sunset boulevard")]),
 ("room four is fine", []),
 ("around june would be better", []),
 ("yes that's correct", []),
 ("the number ending in four two", []),
 ("ssn 123 45 6780", [("SSN","123 45 6780")]),
 ("hi my name is li wei and i have a question about billing", [("NAME","li wei")]),
 ("my phone is plus one eight zero zero five five five zero one nine nine", [("PHONE","plus one eight zero zero five five five zero one nine nine")]),
 ("my wife mary called earlier", [("NAME","mary")]),
 ("use mike dot jones seventy at hotmail dot com", [("EMAIL","mike dot jones seventy at hotmail dot com")]),
 ("we have three kids and two dogs", []),
]
with open(Path(__file__).with_name("pii_heldout.jsonl"), "w") as f:
    for i,(text,ents) in enumerate(rows):
        out=[]; pos=0
        for t,sub in ents:
            s=text.index(sub, 0)
            if any(e["start"]==s for e in out): s=text.index(sub, s+1)
            out.append({"type":t,"start":s,"end":s+len(sub),"text":sub})
        f.write(json.dumps({"id":i,"text":text,"entities":out})+"\n")
print(len(rows))
